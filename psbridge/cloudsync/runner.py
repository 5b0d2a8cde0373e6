"""How every Cloud Sync wrapper reaches the module: one packaged script, its error rules, its output.

`cloudsync/Invoke-AADCloudSyncTools.ps1` takes the function name from a fixed set, the function's
arguments as a hashtable (bound by PSRP, never pasted into text), and guards the import and the
sign-in; see its header. The module keeps its state, including the sign-in, in the remote runspace,
so a `connect()` holds for later calls on the same Session until its runspace pool is reopened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from psbridge.cloudsync.models import of_template
from psbridge.command import Command, ErrorRule, Value
from psbridge.errors import (
    AccessDeniedError,
    CommandNotFoundError,
    InputError,
    NotConnectedError,
    ObjectNotFoundError,
    PrerequisiteMissingError,
    UnexpectedOutputError,
)
from psbridge.models import PSModel, from_output, only
from psbridge.result import InvocationResult, PSObjectData
from psbridge.session import Session
from psbridge.transport import RecordCallback

DEFAULT_MODULE_PATH = r"C:\Program Files\Microsoft Azure AD Connect Provisioning Agent\Utility\AADCloudSyncTools"

# What the caller can do when the module is not signed in, beyond what the agent's text says.
_SIGN_IN_FIRST = (
    "sign in on the same Session first (psbridge.cloudsync.connect, or `psbridge cloudsync --sign-in ...`); "
    "the module signs in with a device code only, so unattended use needs Graph app-only instead"
)
ERROR_RULES = (
    # The script's own guards.
    ErrorRule(PrerequisiteMissingError, error_id_prefix="PsbridgeCloudSync.Prerequisite."),
    ErrorRule(NotConnectedError, error_id_prefix="PsbridgeCloudSync.NotConnected", note=_SIGN_IN_FIRST),
    ErrorRule(CommandNotFoundError, error_id_prefix="PsbridgeCloudSync.FunctionNotExported"),
    ErrorRule(ObjectNotFoundError, error_id_prefix="PsbridgeCloudSync.ExportNotFound"),
    # The module's own texts.
    ErrorRule(NotConnectedError, message_contains="Please start with 'Connect-AADCloudSyncTools", note=_SIGN_IN_FIRST),
    ErrorRule(PrerequisiteMissingError, message_contains="Powershell module is not installed"),
    ErrorRule(PrerequisiteMissingError, message_contains="need to have Microsoft Azure AD Cloud Sync Agent installed"),
    ErrorRule(AccessDeniedError, message_contains="you need Administrator privileges"),
    ErrorRule(ObjectNotFoundError, message_contains="Synchronization Job Id '"),
    ErrorRule(ObjectNotFoundError, message_contains="Service Principal not found."),
    # Graph failures, as the module reports them: "<METHOD> <URI> | Response: <body>".
    ErrorRule(AccessDeniedError, message_contains='"Authorization_RequestDenied"'),
    ErrorRule(ObjectNotFoundError, message_contains='"Request_ResourceNotFound"'),
)

# Functions some agent builds lack, and why: noted on a "not found" for that function.
FUNCTION_HISTORY = {
    "Repair-AADCloudSyncToolsAccount": "it was removed in provisioning agent 1.1.2505.0",
    "Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention": "it was added in provisioning agent 1.1.1365.0",
}


def _rules(function: str) -> tuple[ErrorRule, ...]:
    history = FUNCTION_HISTORY.get(function)
    if history is None:
        return ERROR_RULES
    missing = (
        ErrorRule(CommandNotFoundError, error_id_prefix="PsbridgeCloudSync.FunctionNotExported", note=history),
        ErrorRule(CommandNotFoundError, error_id_prefix="CommandNotFoundException", note=history),
    )
    return (*missing, *ERROR_RULES)


M = TypeVar("M", bound=PSModel)


def run(
    session: Session,
    function: str,
    arguments: Mapping[str, Value] | None = None,
    *,
    module_path: str | None = None,
    connected: bool = True,
    changes: bool = False,
    check_only: bool = False,
    timeout: float | None = None,
    on_record: RecordCallback | None = None,
) -> InvocationResult:
    """Run one module function through the packaged script.

    `connected`: the function needs the module signed in (checked first, with a clear error).
    `changes`: it changes something, so it is never retried once sent. `check_only`: run every guard
    (agent, prerequisites, function present, signed in) and stop before calling the function.
    Arguments whose value is None are left out; `module_path` None is the agent's install path.
    """
    command = Command.script(
        "cloudsync/Invoke-AADCloudSyncTools.ps1",
        {
            "Function": function,
            "Arguments": {k: v for k, v in (arguments or {}).items() if v is not None} or None,
            "ModulePath": module_path,
            "RequireConnection": True if connected else None,
            "CheckOnly": True if check_only else None,
        },
        idempotent=not changes,
        error_rules=_rules(function),
    )
    return session.invoke(command, timeout=timeout, on_record=on_record)


def record_text(record: Any) -> str:
    """The text of an information or warning record (Write-Host sends a HostInformationMessage)."""
    data = getattr(record, "message_data", record)
    if isinstance(data, PSObjectData):
        message = data.get("Message")
        return str(message if message is not None else data.to_string or "")
    return str(data)


def messages(result: InvocationResult) -> tuple[str, ...]:
    """What the module wrote to the host, in order."""
    return tuple(text for text in (record_text(i).strip() for i in result.streams.information) if text)


def warnings(result: InvocationResult) -> tuple[str, ...]:
    return tuple(w.strip() for w in result.streams.warning if w.strip())


def objects(model: type[M], result: InvocationResult, session: Session) -> list[M]:
    """Validate each flat output object into `model`."""
    return from_output(model, result.output, command=result.command, target=session.target)


def one(model: type[M], result: InvocationResult, session: Session, **extra: Any) -> M:
    """The single output object, validated into `model` with `extra` fields added."""
    merged = [{**(o.properties if isinstance(o, PSObjectData) else o), **extra} for o in result.output]
    return only(model, merged, command=result.command, target=session.target)


def documents(result: InvocationResult, session: Session) -> list[dict[str, Any]]:
    """Output sent as one JSON document per object (raw Graph objects), parsed."""
    out = []
    for item in result.output:
        try:
            document = json.loads(item) if isinstance(item, str) else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise UnexpectedOutputError(
                f"{result.command} returned something that is not a JSON object",
                target=session.target, command=result.command, raw=item,
            )  # fmt: skip
        out.append(document)
    return out


def read_jobs(
    session: Session,
    function: str,
    model: type[M],
    *,
    job_id: str | None,
    template: str | None,
    module_path: str | None,
) -> list[M]:
    """One of the per-job reads (`-Id`, else every job), kept to `template` if given; an unknown job id raises.

    `-JobTemplate` is never sent: the module compares it with each job's `templateId`, which is not the
    template a Cloud Sync job was created from (`psbridge.cloudsync.models.of_template`, the rule the
    Graph backend selects by too). The module answers nothing for a job id no Cloud Sync service
    principal owns.
    """
    if job_id is not None and template is not None:
        raise InputError("give a job id or a template, not both")
    result = run(session, function, {"Id": job_id}, module_path=module_path)
    found = [item for item in objects(model, result, session) if of_template(str(getattr(item, "id", "")), template)]
    if job_id is not None and not found:
        raise not_found(job_id, result, session)
    return found


def parsed(model: type[M], result: InvocationResult, session: Session) -> list[M]:
    """Validate each JSON-document output (a raw Graph object) into `model`."""
    return from_output(model, documents(result, session), command=result.command, target=session.target)


def not_found(job_id: str, result: InvocationResult, session: Session) -> ObjectNotFoundError:
    """The module's own text for a job no Cloud Sync service principal owns."""
    return ObjectNotFoundError(
        f"{result.command} failed on {session.target}: Synchronization Job Id '{job_id}' not found.",
        target=session.target, command=result.command,
    )  # fmt: skip


def relay_to(callback: Callable[[str], None] | None, sink: list[str]) -> RecordCallback:
    """An on_record callback that keeps information and warning texts and hands each to `callback` at once."""

    def relay(kind: str, record: Any) -> None:
        if kind not in ("information", "warning"):
            return
        text = record_text(record).strip()
        if text:
            sink.append(text)
            if callback is not None:
                callback(text)

    return relay
