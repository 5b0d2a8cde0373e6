"""What a pipeline sends and what comes back: the CreatePipeline psbridge builds (and serializes once per
command and pool), and the records it decodes itself (psbridge.transport.clixml) in place of pypsrp.

Used by `psbridge.transport.psrp`, the only other module that touches pypsrp's pipeline objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import uuid
from collections.abc import Hashable, Iterator
from typing import Any
from xml.etree import ElementTree as ET

from psrpcore.types import ErrorCategory
from pypsrp import exceptions as pe
from pypsrp.complex_objects import ObjectMeta
from pypsrp.messages import (
    CreatePipeline,
    DebugRecord,
    ErrorRecordMessage,
    InformationRecord,
    PipelineState,
    ProgressRecord,
    VerboseRecord,
    WarningRecord,
)
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import WSMan

from psbridge.command import Command
from psbridge.result import ErrorRecordData, InformationData, ProgressData, PSObjectData, Streams
from psbridge.transport import clixml


def to_wire(value: Any) -> Any:
    """Python values pypsrp serializes as they are; others go as their canonical text."""
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, uuid.UUID | dt.datetime):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    return value


# -- results ------------------------------------------------------------------------------------

# The messages whose payload psbridge decodes itself (`psbridge.transport.clixml`); pypsrp keeps the
# runspace pool's own messages (capabilities, keys, host calls), which it needs for its state.
_DECODED_RECORDS = (ErrorRecordMessage, WarningRecord, VerboseRecord, DebugRecord, InformationRecord, ProgressRecord)


class _Record:
    """A stream record psbridge decoded, in the envelope pypsrp files it under (its message type)."""

    __slots__ = ("MESSAGE_TYPE", "data")

    def __init__(self, message_type: int, data: Any) -> None:
        self.MESSAGE_TYPE = message_type
        self.data = data

    def __str__(self) -> str:  # pypsrp warns with a runspace pool's warning record as text
        return str(self.data)


class _PipelineState:
    """A PIPELINE_STATE message as pypsrp's PowerShell reads it: `state`, and `error_record` when it failed."""

    __slots__ = ("MESSAGE_TYPE", "error_record", "state")

    def __init__(self, data: PSObjectData) -> None:
        self.MESSAGE_TYPE = PipelineState.MESSAGE_TYPE
        self.state = int(data.get("PipelineState", 0))
        error = data.get("ExceptionAsErrorRecord")
        self.error_record = None if error is None else _Record(ErrorRecordMessage.MESSAGE_TYPE, error)


class DecodingSerializer(Serializer):
    """pypsrp's serializer, with every object a pipeline returns decoded by psbridge instead.

    Pipeline output and every stream's records come back as `PSObjectData` and plain values, decoded
    faithfully (typed collections, enums, any number of `Deserialized.` prefixes) and without pypsrp's
    re-serialization of each element. Serializing what psbridge sends stays pypsrp's.
    """

    # Serialized CreatePipeline messages kept per pool, by command: a script's text dominates the cost.
    CACHED_PIPELINES = 32

    def __init__(self) -> None:
        super().__init__()
        self.pipeline_key: Hashable | None = None  # the command of the CreatePipeline about to be serialized
        self._pipelines: dict[Hashable, bytes] = {}

    def serialize(self, value: Any, metadata: ObjectMeta | None = None, parent: Any = None, clear: bool = True) -> Any:
        """A CreatePipeline for a command serialized before comes back as the same bytes (`Message.pack`
        sends bytes as they are). Its body holds no id: the runspace pool and pipeline ids are in the
        message header, the object id in the fragment header, and RefIds restart with each message."""
        key = self.pipeline_key
        if key is None or parent is not None or not clear or not isinstance(value, CreatePipeline):
            return super().serialize(value, metadata, parent, clear)
        cached = self._pipelines.get(key)
        if cached is None:
            element = super().serialize(value, metadata, parent, clear)
            cached = ET.tostring(element, encoding="utf-8", method="xml") if element is not None else b""
            if len(self._pipelines) >= self.CACHED_PIPELINES:
                del self._pipelines[next(iter(self._pipelines))]
            self._pipelines[key] = cached
        return cached

    def deserialize(self, element: Any, metadata: ObjectMeta | None = None, clear: bool = True) -> Any:
        kind = metadata.object if metadata is not None else None
        try:
            if metadata is None:  # PIPELINE_OUTPUT and PIPELINE_INPUT payloads
                return clixml.decode(element)
            if kind in _DECODED_RECORDS:
                return _Record(kind.MESSAGE_TYPE, clixml.decode(element))
            if kind is PipelineState:
                return _PipelineState(clixml.decode(element))
        except clixml.DecodeError as exc:
            raise pe.SerializationError(str(exc)) from None
        return super().deserialize(element, metadata, clear)


def build_pipeline(pool: RunspacePool, command: Command) -> PowerShell:
    ps = PowerShell(pool)
    if command.is_script:
        # In a scope of its own: pypsrp's default (nil) dot-sources a script into the global scope, where its
        # preferences, functions and parameter variables (with their validation) would outlive the call
        # (PowerShell's Command.CreateCommandProcessor: `_useLocalScope ?? false`). What must outlive
        # it is made global on purpose; psbridge.ps says which.
        ps.add_script(command.text, use_local_scope=True)
    else:
        ps.add_cmdlet(command.name)
    for param in command.parameters:
        ps.add_parameter(param.name, to_wire(param.value))
    return ps


@contextlib.contextmanager
def serialized_once(pool: RunspacePool, command: Command) -> Iterator[None]:
    """Let `pool`'s serializer reuse the CreatePipeline it serialized for the same command (never for a
    command with a secret parameter: its value is not kept past the call)."""
    serializer = pool._serializer
    if not isinstance(serializer, DecodingSerializer) or any(p.secret for p in command.parameters):
        yield
        return
    params = tuple((p.name, _frozen(to_wire(p.value))) for p in command.parameters)
    serializer.pipeline_key = (command.is_script, command.name, params)
    try:
        yield
    finally:
        serializer.pipeline_key = None


def _frozen(value: Any) -> Hashable:
    """A wire value as a key that tells apart what serializes differently (True, 1, 1.0 and "1")."""
    if isinstance(value, list):
        return ("list", tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def new_pool(connection: WSMan, configuration_name: str) -> RunspacePool:
    pool = RunspacePool(connection, configuration_name=configuration_name)
    pool._serializer = DecodingSerializer()
    pool._fragmenter.serializer = pool._serializer
    return pool


def _record(value: Any) -> PSObjectData:
    if isinstance(value, _Record):
        value = value.data
    if isinstance(value, PSObjectData):
        return value
    return PSObjectData((), {}, None if value is None else str(value))


def _category_name(value: Any) -> str:
    try:
        return ErrorCategory(int(value)).name
    except (TypeError, ValueError):
        return str(value or "NotSpecified")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def error_record(err: Any) -> ErrorRecordData:
    """An ErrorRecord (MS-PSRP 2.2.3.15) as psbridge reports it."""
    record = _record(err)
    exc = record.get("Exception")
    exc_types = exc.type_names if isinstance(exc, PSObjectData) else ()
    exc_message = exc.get("Message") if isinstance(exc, PSObjectData) else None
    message = record.get("ErrorDetails_Message") or exc_message or record.to_string or ""
    return ErrorRecordData(
        message=str(message),
        fully_qualified_error_id=_str(record.get("FullyQualifiedErrorId")),
        category=_category_name(record.get("ErrorCategory_Category")),
        category_info=_str(record.get("ErrorCategory_Message")),
        reason=_str(record.get("ErrorCategory_Reason")),
        target_name=_str(record.get("ErrorCategory_TargetName")),
        exception_type=exc_types[0] if exc_types else "",
        exception_types=exc_types,
        command_name=_str(record.get("CommandInfo_Name")),
        script_stack_trace=_str(record.get("ErrorDetails_ScriptStackTrace")),
    )


def _message(record: Any) -> str:
    data = _record(record)
    text = data.get("InformationalRecord_Message")
    return str(text if text is not None else data.to_string or "")


def _information(record: Any) -> InformationData:
    data = _record(record)
    when = data.get("TimeGenerated")
    return InformationData(
        data.get("MessageData"),
        _str(data.get("Source")),
        tuple(str(t) for t in data.get("Tags") or ()),
        when.isoformat() if isinstance(when, dt.datetime) else (None if when is None else str(when)),
    )


def _progress(record: Any) -> ProgressData:
    data = _record(record)
    percent, seconds = data.get("PercentComplete"), data.get("SecondsRemaining")
    return ProgressData(
        _str(data.get("Activity")),
        _str(data.get("StatusDescription")),
        _str(data.get("CurrentOperation")),
        int(percent if percent is not None else -1),
        int(seconds if seconds is not None else -1),
    )


def streams_of(ps: PowerShell) -> Streams:
    s = ps.streams
    return Streams(
        error=tuple(error_record(e) for e in s.error),
        warning=tuple(_message(w) for w in s.warning),
        verbose=tuple(_message(v) for v in s.verbose),
        debug=tuple(_message(d) for d in s.debug),
        information=tuple(_information(i) for i in s.information),
        progress=tuple(_progress(p) for p in s.progress),
    )
