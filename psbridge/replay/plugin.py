"""pytest plugin: replay psbridge recordings in your own test suite.

    def test_connect_version(psbridge_session):
        assert psbridge.adsync.check_version(psbridge_session).meets_minimum

The fixture serves the recording named by `@pytest.mark.psbridge_recording("path.yaml")`, or else
`<psbridge_recordings ini option, default tests/recordings>/<test module>/<test name>.yaml`.
The record mode comes from `--psbridge-record-mode` or `PSBRIDGE_RECORD_MODE` (default `none`: replay
only, no network, and a command missing from the recording fails the test). Record modes talk to the
live host named by PSBRIDGE_HOST, PSBRIDGE_USERNAME, PSBRIDGE_PASSWORD, PSBRIDGE_AUTH, PSBRIDGE_PORT and
PSBRIDGE_NO_TLS=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MODES = ("none", "once", "new_episodes", "rewrite")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("psbridge")
    group.addoption(
        "--psbridge-record-mode",
        choices=MODES,
        default=None,
        help="psbridge record mode for the psbridge_session fixture (default: $PSBRIDGE_RECORD_MODE or none)",
    )
    parser.addini("psbridge_recordings", "directory of per-test psbridge recordings", default="tests/recordings")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "psbridge_recording(path): the recording file the psbridge_session serves")
    record_mode(config)  # a bad mode is a usage error for the whole run, not one failed test


def record_mode(config: pytest.Config) -> str:
    mode = config.getoption("--psbridge-record-mode") or os.environ.get("PSBRIDGE_RECORD_MODE") or "none"
    if mode not in MODES:
        raise pytest.UsageError(f"PSBRIDGE_RECORD_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    return str(mode)


def recording_path(request: pytest.FixtureRequest) -> Path:
    marker = request.node.get_closest_marker("psbridge_recording")
    if marker is not None and marker.args:
        path = Path(str(marker.args[0]))
        return path if path.is_absolute() else Path(request.config.rootpath) / path
    base = Path(request.config.rootpath) / str(request.config.getini("psbridge_recordings"))
    module = Path(str(request.node.fspath)).stem
    return base / module / f"{request.node.name}.yaml"


def live_options_from_env() -> Any:
    from psbridge.options import ConnectionOptions, password_from_env

    host = os.environ.get("PSBRIDGE_HOST")
    if not host:
        pytest.fail("recording needs a live host: set PSBRIDGE_HOST (and PSBRIDGE_USERNAME, PSBRIDGE_PASSWORD)")
    values: dict[str, Any] = {"host": host, "password": password_from_env()}
    for env, key in (("PSBRIDGE_USERNAME", "username"), ("PSBRIDGE_AUTH", "auth"), ("PSBRIDGE_PORT", "port")):
        if os.environ.get(env):
            values[key] = os.environ[env]
    if os.environ.get("PSBRIDGE_NO_TLS") == "1":
        values["tls"] = False
    return ConnectionOptions.build(**values)


@pytest.fixture
def psbridge_session(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A psbridge Session served from this test's recording."""
    from psbridge.replay.transport import recorded_session

    mode = record_mode(request.config)
    path = recording_path(request)
    options = None if mode == "none" else live_options_from_env()
    session = recorded_session(path, mode=mode, options=options)  # type: ignore[arg-type]
    try:
        yield session
    finally:
        session.close()
