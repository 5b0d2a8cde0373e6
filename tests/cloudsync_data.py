"""The Cloud Sync demo's facts for tests, and a builder for episodes of the packaged script."""

from __future__ import annotations

import functools
import json
from typing import Any

import yaml
from helpers import REPO

SCRIPT = "cloudsync/Invoke-AADCloudSyncTools.ps1"
DEMO_FILE = REPO / "recorded_sessions" / "demo" / "cloudsync.yaml"
CASES = REPO / "recorded_sessions" / "cases"
TENANT = "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"
HEALTHY = "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
QUARANTINED = "AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14"


@functools.cache
def _source() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "recorded_sessions" / "sources" / "demo" / "cloudsync.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def demo_object(name: str) -> Any:
    """A shared object of the demo source (its `x-objects`), e.g. `quarantined_status`: a fresh copy."""
    value = _source()["x-objects"][name]
    return dict(value) if isinstance(value, dict) else value


def demo_document(name: str) -> dict[str, Any]:
    """A demo object that is a JSON document (a schema, a user), parsed."""
    document = json.loads(demo_object(name))
    assert isinstance(document, dict)
    return document


def status(name: str, **changes: Any) -> dict[str, Any]:
    """An output object for Get-AADCloudSyncToolsJobStatus, from the demo's, with some values changed."""
    return {"properties": {**demo_object(name), **changes}}


def plain(value: Any) -> Any:
    """A synthetic-source value as Python sees it after deserialization ({Nil: null} -> None, {I64: 3} -> 3)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Nil", "I32", "I64", "Db", "B", "S"):
        return next(iter(value.values()))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def episode(
    function: str,
    arguments: dict[str, Any] | None = None,
    *,
    connected: bool = True,
    check_only: bool = False,
    module_path: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An episode of the packaged script running `function`, with parameters in the order Python binds them."""
    params: list[dict[str, Any]] = [{"name": "Function", "value": function}]
    if arguments:
        params.append({"name": "Arguments", "value": arguments})
    if module_path is not None:
        params.append({"name": "ModulePath", "value": module_path})
    if connected:
        params.append({"name": "RequireConnection", "value": True})
    if check_only:
        params.append({"name": "CheckOnly", "value": True})
    return {"script": SCRIPT, "parameters": params, **spec}


def status_of(job_id: str, name: str, **changes: Any) -> dict[str, Any]:
    """An episode reading one job's status."""
    return episode("Get-AADCloudSyncToolsJobStatus", {"Id": job_id}, output=[status(name, **changes)])


def action(function: str, job_id: str, **spec: Any) -> dict[str, Any]:
    """An episode of Resume/Suspend/Restart-AADCloudSyncToolsJob (they output nothing)."""
    return episode(function, {"Id": job_id}, **spec)
