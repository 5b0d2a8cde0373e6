"""An in-process WSMan/PSRP server, built on psrpcore, that serves recorded episodes.

pypsrp's real client talks to it through `handle(bytes) -> (http status, bytes)`, the same SOAP it would
send to Windows. psrpcore parses what the client sends (SessionCapability, InitRunspacePool,
CreatePipeline) exactly as a PowerShell host would; the replies are the recorded CLIXML bodies with
fresh PSRP headers, fragmented by psrpcore. So replayed and live calls share every code path in pypsrp,
from fragment reassembly to deserialization and stream handling.

WSMan actions answered: Create, Command, Send, Receive, Signal (Terminate, ctrl_c), Delete and Get.

psrpcore keeps one send buffer per pool, and `data_to_send()` stops at the first message for another
pipeline, so the server drains that buffer into one outbox per target (the pool, or a pipeline) that
Receive then serves, fragmented when a Receive takes it and sized by that request's MaxEnvelopeSize
(`_take`; docs/psrp.md, Receive sizes). Replaying raw recorded CLIXML needs two private psrpcore members:
the pool's `_send_buffer` (to queue a message built from recorded bytes, and to take queued messages out
whole in `_drain`) and `_fragment_counter`; psrpcore is pinned to 0.3.x for that reason.

Every script must arrive with `UseLocalScope` true. pypsrp sends it as nil unless asked, and PowerShell
runs a script whose flag is nil or false dot-sourced into the runspace's global scope
(`Command.CreateCommandProcessor`: `_useLocalScope ?? false`,
https://github.com/PowerShell/PowerShell/blob/master/src/System.Management.Automation/engine/hostifaces/Command.cs),
where its preferences, functions and parameter variables would outlive the call. The server refuses such a
pipeline with the error id `PsbridgeScriptNotLocal` (`NotLocal`), the way it reports a replay miss, so a client
that forgets the flag fails every replayed test, in process and over `serve-replay` alike. Commands sent by
name (cmdlets) are not checked: a compiled cmdlet has no variables or functions of its own to leave behind.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from defusedxml.ElementTree import fromstring
from psrpcore import CreatePipelineEvent, PSRPPayload, ServerPipeline, ServerRunspacePool, StreamType
from psrpcore._payload import PSRPMessage, create_fragment, create_message
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSInvocationState,
    PSRPMessageType,
)

from psbridge import ps
from psbridge.ps import script_digest
from psbridge.replay import wire
from psbridge.replay.cassette import Cassette
from psbridge.replay.episodes import Episode, EpisodePlayer, Miss, Player, RecordedMessage
from psbridge.replay.keys import Key, Param, Statement, canonical

_FINAL_STATES = {int(PSInvocationState.Completed), int(PSInvocationState.Failed), int(PSInvocationState.Stopped)}

# Receive sizes (docs/psrp.md, Receive sizes): a Receive is filled with as many fragments as fit in the
# request's MaxEnvelopeSize (at most the host's MaxEnvelopeSizekb x 1024, 500 KiB by default), and no fragment
# is larger than PowerShell's own (BaseTransportManager.DefaultFragmentSize, 32 KiB, header included).
DEFAULT_MAX_ENVELOPE_SIZE_KB = 500
_MAX_FRAGMENT = 32 * 1024
_FRAGMENT_HEADER = 21


def pipeline_state_of(clixml: str) -> int | None:
    """The PipelineState value inside a PipelineState message body."""
    root = fromstring(clixml)
    for element in root.iter("I32"):
        if element.get("N") == "PipelineState":
            return int(element.text or "0")
    return None


@dataclasses.dataclass(frozen=True)
class NotLocal(Miss):
    """A script the client sent without `UseLocalScope` true: refused before any episode is looked at, so a
    recording is never consumed by it. `flags` holds each script's flag as sent (None for nil)."""

    flags: tuple[bool | None, ...] = ()

    @property
    def error_id(self) -> str:
        return "PsbridgeScriptNotLocal"

    def message(self) -> str:
        sent = ", ".join("nil" if flag is None else str(flag).lower() for flag in self.flags)
        return (
            f"`{self.key.display()}` was sent with UseLocalScope {sent}, not true: PowerShell would run the "
            "script dot-sourced in the runspace's global scope, where its variables, functions and preferences "
            "outlive the call; send scripts with use_local_scope=True"
        )


def scopes_not_local(event: CreatePipelineEvent) -> tuple[bool | None, ...]:
    """The `UseLocalScope` flag (None for nil) of each script in a CreatePipeline that is not true."""
    return tuple(c.use_local_scope for c in event.pipeline.commands if c.is_script and c.use_local_scope is not True)


def key_of(event: CreatePipelineEvent, script_names: dict[str, str]) -> Key:
    """The normalized command of a CreatePipeline, as psrpcore decoded it from the wire."""
    statements = []
    for command in event.pipeline.commands:
        params = tuple(Param(str(name) if name else None, canonical(value)) for name, value in command.parameters)
        if command.is_script:
            digest = script_digest(command.command_text)
            statements.append(Statement(script_names.get(digest, "inline"), digest, params))
        else:
            statements.append(Statement(str(command.command_text), None, params))
    return Key(tuple(statements))


@dataclasses.dataclass(frozen=True)
class Injection:
    """What an `on_pipeline` hook adds to a pipeline's reply.

    The messages are served before the recorded ones, or, with `replace`, instead of them: the recorded
    episode then stays unplayed for the next call, and a list with no final PipelineState leaves the
    pipeline running until the client stops it (a hung command).
    """

    messages: tuple[RecordedMessage, ...] = ()
    replace: bool = False


@dataclasses.dataclass
class _Pipeline:
    core: ServerPipeline
    finished: bool = False
    episode: Episode | None = None


@dataclasses.dataclass
class _Outgoing:
    """One PSRP message waiting for a Receive: its whole bytes, how far they have been sent, the next
    fragment's id."""

    object_id: int
    data: bytes
    sent: int = 0
    fragment_id: int = 0


@dataclasses.dataclass
class _Shell:
    pool: ServerRunspacePool
    resource_uri: str
    player: Player
    outbox: dict[uuid.UUID | None, collections.deque[_Outgoing]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.deque)
    )
    pipelines: dict[uuid.UUID, _Pipeline] = dataclasses.field(default_factory=dict)
    opened: bool = False


class ReplayServer:
    """Answers pypsrp's WSMan requests from an EpisodePlayer or a simulated host.

    Args:
        player: hands out the reply to each pipeline by its key: recorded episodes, or a simulated
            host's computed replies.
        pool_messages: the recorded server side of opening a pool (SessionCapability,
            ApplicationPrivateData, RunspacePoolState, ...), replayed verbatim.
        configuration_name: the endpoint the recording was made against; a client asking for
            another one gets the fault Windows gives for an unknown resource URI.
        script_names: SHA-256 of a packaged script's text to its name, for readable keys.
        on_episode: called with each pipeline's id, key and outcome; the recorder uses it to key
            what a live host answers with exactly the function replay matches with.
        hang_cap_s: the longest a Receive on a still-running pipeline is held before the
            operation-timeout fault (Windows holds it for the request's OperationTimeout).
        on_pipeline: called with each pipeline's id and key as it starts; an `Injection` it returns changes
            the reply (fault injection uses it for error records, warnings and hung commands).
        player_per_shell: when given, each new shell (runspace pool) is answered by a player of its
            own from this factory, instead of `player`: a long-running endpoint then serves every
            client session the recording afresh, as `--replay` does for each process.
        max_envelope_size_kb: the host's WinRM `MaxEnvelopeSizekb`: no Receive response is larger than
            this many KiB, nor than the request's own MaxEnvelopeSize header (500 by default, the value
            MS-WSMV gives; 32 at least). Tests set it lower to get an output over several Receives.
        max_commands_per_shell: the endpoint's MaxConcurrentCommandsPerShell: a Command while this many
            pipelines are open on the shell (not yet closed by Signal Terminate) is refused with the quota
            fault, so a client that leaks pipelines fails. 1000 by default, the microsoft.powershell
            endpoint's (MS-WSMV 3.1.4.1.34.3.4); None: no limit.
    """

    def __init__(
        self,
        player: Player,
        pool_messages: list[RecordedMessage],
        *,
        configuration_name: str = "Microsoft.PowerShell",
        script_names: dict[str, str] | None = None,
        on_episode: Callable[[uuid.UUID, Key, Episode | Miss], None] | None = None,
        hang_cap_s: float = 5.0,
        on_pipeline: Callable[[uuid.UUID, Key], Injection | None] | None = None,
        player_per_shell: Callable[[], Player] | None = None,
        max_envelope_size_kb: int = DEFAULT_MAX_ENVELOPE_SIZE_KB,
        max_commands_per_shell: int | None = 1000,
    ) -> None:
        if max_envelope_size_kb < 32:
            raise ValueError("MaxEnvelopeSizekb is 32 at least (MS-WSMV 2.2.4.10)")
        self.player = player
        self.max_envelope_size = max_envelope_size_kb * 1024
        self.player_per_shell = player_per_shell
        self.pool_messages = pool_messages
        self.configuration_name = configuration_name
        self.script_names = script_names or {}
        self.on_episode = on_episode
        self.shells: dict[str, _Shell] = {}
        self.requests = 0
        self.keys_seen: list[Key] = []
        self.hang_cap_s = hang_cap_s
        self.on_pipeline = on_pipeline
        self.max_commands_per_shell = max_commands_per_shell
        self._changed = threading.Condition()  # held while handling; notified when a pipeline ends

    @classmethod
    def from_cassettes(cls, cassettes: list[Cassette], *, per_shell: bool = False) -> ReplayServer:
        """A server for recordings of one endpoint: their episodes, and the first one's pool handshake;
        with `per_shell`, each shell is served the episodes afresh."""
        episodes = [ep for c in cassettes for ep in c.episodes]
        label = _label([c.path for c in cassettes])
        return cls(
            EpisodePlayer(episodes, label),
            cassettes[0].pool,
            configuration_name=cassettes[0].target.configuration_name,
            script_names=ps.digests(),
            player_per_shell=(lambda: EpisodePlayer(episodes, label)) if per_shell else None,
        )

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, data: bytes) -> tuple[int, bytes]:
        """Answer one WSMan request: (HTTP status, response body). Safe to call from several threads:
        requests are handled one at a time, except that a Receive waiting on a running command lets
        others through (and a Signal that stops the command ends the wait)."""
        with self._changed:
            return self._handle(data)

    def _handle(self, data: bytes) -> tuple[int, bytes]:
        self.requests += 1
        try:
            request = wire.Request.parse(data)
        except wire.WireError as exc:
            return 400, wire.fault(None, 2150858817, f"The request is not a WSMan envelope: {exc}")
        handler = {
            wire.ACTION_CREATE: self._create,
            wire.ACTION_COMMAND: self._command,
            wire.ACTION_SEND: self._send,
            wire.ACTION_RECEIVE: lambda r: self._receive(r, requested_envelope_size(data)),
            wire.ACTION_SIGNAL: self._signal,
            wire.ACTION_DELETE: self._delete,
            wire.ACTION_GET: self._get,
        }.get(request.action)
        if handler is None:
            return 500, wire.fault(request, 2150858817, f"The action {request.action} is not supported")
        if request.action != wire.ACTION_CREATE and request.shell_id not in self.shells:
            return 500, wire.fault(
                request,
                wire.FAULT_SHELL_NOT_FOUND,
                "The request for the Windows Remote Shell with ShellId failed "
                "because the shell was not found on the server.",
            )
        return handler(request)

    # -- actions ------------------------------------------------------------------------------

    def _create(self, request: wire.Request) -> tuple[int, bytes]:
        expected = wire.POWERSHELL_URI_PREFIX + self.configuration_name
        if request.resource_uri.lower() != expected.lower():
            return 500, wire.fault(
                request,
                2150858770,
                f"The WS-Management service cannot process the request because the "
                f"resource URI {request.resource_uri} is not registered (recording is for {expected}).",
            )
        shell_el = request.body.find("rsp:Shell", wire.NS)
        creation = request.body.find("rsp:Shell/pwsh:creationXml", wire.NS)
        if shell_el is None or creation is None:
            return 500, wire.fault(request, 2150858817, "Create carries no PowerShell creationXml")
        shell_id = (shell_el.get("ShellId") or str(uuid.uuid4())).upper()
        player = self.player_per_shell() if self.player_per_shell is not None else self.player
        shell = _Shell(ServerRunspacePool(), request.resource_uri, player)
        self.shells[shell_id] = shell
        shell.pool.receive_data(PSRPPayload(wire.decode_b64(creation.text), StreamType.default, None))
        self._process_events(shell)

        body = ET.Element(f"{{{wire.NS['wst']}}}ResourceCreated")
        ET.SubElement(body, f"{{{wire.NS['wsa']}}}Address").text = "http://psbridge-replay/wsman"
        refs = ET.SubElement(body, f"{{{wire.NS['wsa']}}}ReferenceParameters")
        ET.SubElement(refs, f"{{{wire.NS['wsman']}}}ResourceURI").text = request.resource_uri
        selectors = ET.SubElement(refs, f"{{{wire.NS['wsman']}}}SelectorSet")
        ET.SubElement(selectors, f"{{{wire.NS['wsman']}}}Selector", Name="ShellId").text = shell_id
        return 200, wire.envelope(request, wire.ACTION_CREATE + "Response", body)

    def _command(self, request: wire.Request) -> tuple[int, bytes]:
        shell = self.shells[request.shell_id or ""]
        line = request.body.find("rsp:CommandLine", wire.NS)
        if line is None:
            return 500, wire.fault(request, 2150858817, "Command carries no CommandLine")
        limit = self.max_commands_per_shell
        if limit is not None and len(shell.pipelines) >= limit:
            from psbridge.replay.faults import FAULT_QUOTA, QUOTA_OPERATIONS  # faults imports this module

            return 500, wire.fault(request, FAULT_QUOTA, QUOTA_OPERATIONS)
        command_id = uuid.UUID(line.get("CommandId") or str(uuid.uuid4()))
        shell.pipelines[command_id] = _Pipeline(ServerPipeline(shell.pool, command_id))
        args = line.findtext("rsp:Arguments", default="", namespaces=wire.NS)
        shell.pool.receive_data(PSRPPayload(wire.decode_b64(args), StreamType.default, command_id))
        self._process_events(shell)

        body = ET.Element(f"{{{wire.NS['rsp']}}}CommandResponse")
        ET.SubElement(body, f"{{{wire.NS['rsp']}}}CommandId").text = str(command_id).upper()
        return 200, wire.envelope(request, wire.ACTION_COMMAND + "Response", body)

    def _send(self, request: wire.Request) -> tuple[int, bytes]:
        shell = self.shells[request.shell_id or ""]
        for stream in request.body.findall("rsp:Send/rsp:Stream", wire.NS):
            command_id = stream.get("CommandId")
            target = uuid.UUID(command_id) if command_id else None
            shell.pool.receive_data(PSRPPayload(wire.decode_b64(stream.text), StreamType.default, target))
        self._process_events(shell)
        body = ET.Element(f"{{{wire.NS['rsp']}}}SendResponse")
        return 200, wire.envelope(request, wire.ACTION_SEND + "Response", body)

    def _receive(self, request: wire.Request, requested: int | None) -> tuple[int, bytes]:
        shell = self.shells[request.shell_id or ""]
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", wire.NS)
        command_id = desired.get("CommandId") if desired is not None else None
        target = uuid.UUID(command_id) if command_id else None
        pipeline = shell.pipelines.get(target) if target else None
        if target is not None and pipeline is None:
            return 500, wire.fault(request, 2150858843, "The command was not found on the server.")
        outbox = shell.outbox[target]
        if not outbox:
            if pipeline is not None and not pipeline.finished:
                # A command still running: like Windows, hold the Receive for the OperationTimeout,
                # or until the command is stopped.
                self._changed.wait_for(lambda: pipeline.finished, min(request.operation_timeout_s, self.hang_cap_s))
                if shell.outbox[target]:
                    return self._receive(request, requested)
            return 500, wire.fault(
                request,
                wire.FAULT_OPERATION_TIMEOUT,
                "The WS-Management service cannot complete the operation "
                "within the time specified in OperationTimeout.",
            )

        limit = min(requested or self.max_envelope_size, self.max_envelope_size)
        overhead = max(len(_receive_response(request, target, "", done)) for done in (False, True))
        data = _take(outbox, (limit - overhead) // 4 * 3)  # base64 carries 3 bytes in 4 characters
        done = pipeline is not None and pipeline.finished and not outbox
        return 200, _receive_response(request, target, base64.b64encode(data).decode("ascii"), done)

    def _signal(self, request: wire.Request) -> tuple[int, bytes]:
        shell = self.shells[request.shell_id or ""]
        signal = request.body.find("rsp:Signal", wire.NS)
        code = signal.findtext("rsp:Code", default="", namespaces=wire.NS) if signal is not None else ""
        command_id = signal.get("CommandId") if signal is not None else None
        target = uuid.UUID(command_id) if command_id else None
        pipeline = shell.pipelines.get(target) if target else None
        if pipeline is not None:
            if code == wire.SIGNAL_CTRL_C and not pipeline.finished:
                shell.outbox.pop(target, None)
                pipeline.core.stop()
                pipeline.finished = True
                self._drain(shell)
                self._changed.notify_all()
            elif code.lower() == wire.SIGNAL_TERMINATE.lower():
                if pipeline.core.state == PSInvocationState.Running:
                    pipeline.core._change_state(PSInvocationState.Stopped, emit=False)
                pipeline.core.close()
                shell.pipelines.pop(pipeline.core.pipeline_id, None)
                shell.outbox.pop(target, None)
        body = ET.Element(f"{{{wire.NS['rsp']}}}SignalResponse")
        return 200, wire.envelope(request, wire.ACTION_SIGNAL + "Response", body)

    def _delete(self, request: wire.Request) -> tuple[int, bytes]:
        self.shells.pop(request.shell_id or "", None)
        return 200, wire.envelope(request, wire.ACTION_DELETE + "Response", None)

    def _get(self, request: wire.Request) -> tuple[int, bytes]:
        shell = self.shells[request.shell_id or ""]
        body = ET.Element(f"{{{wire.NS['rsp']}}}Shell")
        ET.SubElement(body, f"{{{wire.NS['rsp']}}}ShellId").text = request.shell_id
        ET.SubElement(body, f"{{{wire.NS['rsp']}}}ResourceUri").text = shell.resource_uri
        ET.SubElement(body, f"{{{wire.NS['rsp']}}}State").text = "Connected"
        return 200, wire.envelope(request, wire.ACTION_GET + "Response", body)

    # -- PSRP ---------------------------------------------------------------------------------

    def _process_events(self, shell: _Shell) -> None:
        while (event := shell.pool.next_event()) is not None:
            if isinstance(event, CreatePipelineEvent) and event.pipeline_id is not None:
                self._start_pipeline(shell, shell.pipelines[event.pipeline_id], event)
        if not shell.opened and shell.pool.state.name == "Opened":
            # Replace psrpcore's own handshake replies with the recorded ones.
            shell.pool._send_buffer.clear()
            for message in self.pool_messages:
                self._queue_raw(shell, message, None)
            shell.opened = True
        self._drain(shell)

    def _start_pipeline(self, shell: _Shell, pipeline: _Pipeline, event: CreatePipelineEvent) -> None:
        key = key_of(event, self.script_names)
        self.keys_seen.append(key)
        flags = scopes_not_local(event)
        injection = None
        if not flags and self.on_pipeline is not None:
            injection = self.on_pipeline(pipeline.core.pipeline_id, key)
        pipeline.core._change_state(PSInvocationState.Running, emit=False)
        if injection is not None and injection.replace:
            self._serve(shell, pipeline, injection.messages)
            return
        # A script outside a local scope is refused before any episode is taken, so none is used up.
        outcome = NotLocal(key, False, (), "", flags) if flags else shell.player.take(key)
        if self.on_episode is not None:
            self.on_episode(pipeline.core.pipeline_id, key, outcome)
        if isinstance(outcome, Miss):
            category, reason = (
                (ErrorCategory.InvalidOperation, "NotLocal")
                if isinstance(outcome, NotLocal)
                else (ErrorCategory.ObjectNotFound, "ReplayMiss")
            )
            error = ErrorRecord(
                Exception=NETException(Message=outcome.message()),
                CategoryInfo=ErrorCategoryInfo(Category=category, Reason=reason),
                FullyQualifiedErrorId=outcome.error_id,
            )
            pipeline.core._change_state(PSInvocationState.Failed, error=error)
            pipeline.finished = True
            return
        pipeline.episode = outcome
        self._serve(shell, pipeline, (*(injection.messages if injection else ()), *outcome.messages))

    def _serve(self, shell: _Shell, pipeline: _Pipeline, messages: Sequence[RecordedMessage]) -> None:
        for message in messages:
            if message.type == "PipelineState":
                state = pipeline_state_of(message.clixml)
                if state is not None and state not in _FINAL_STATES:
                    continue  # psrpcore-style Running notices add nothing on replay
                pipeline.finished = True
            self._queue_raw(shell, message, pipeline.core.pipeline_id)
            if pipeline.finished:
                break
        if pipeline.finished and pipeline.core.state == PSInvocationState.Running:
            pipeline.core._change_state(PSInvocationState.Completed, emit=False)

    def _queue_raw(self, shell: _Shell, message: RecordedMessage, pipeline_id: uuid.UUID | None) -> None:
        pool = shell.pool
        message_type = PSRPMessageType[message.type]
        data = message.clixml.encode("utf-8")
        payload = create_message(False, message_type, data, pool.runspace_pool_id, pipeline_id)
        pool._send_buffer.append(
            PSRPMessage(message_type, bytearray(payload), pool.runspace_pool_id, pipeline_id, pool._fragment_counter)
        )

    def _drain(self, shell: _Shell) -> None:
        """Move what psrpcore queued into one outbox per target, whole: MS-PSRP 3.2.5.1.1 fragments a
        message when a Receive takes it (`_take`), so each Receive is sized by its own request."""
        for message in shell.pool._send_buffer:
            shell.outbox[message.pipeline_id].append(_Outgoing(message.object_id, message.data))
        shell.pool._send_buffer.clear()


def requested_envelope_size(data: bytes) -> int | None:
    """The `wsman:MaxEnvelopeSize` header of a request, in bytes: the largest response the client accepts
    (MS-WSMV 3.1.4.1.7); None when absent or unreadable."""
    header = fromstring(data).find("s:Header", wire.NS)
    text = header.findtext("wsman:MaxEnvelopeSize", default="", namespaces=wire.NS) if header is not None else ""
    return int(text) if text.strip().isdigit() else None


def _take(outbox: collections.deque[_Outgoing], budget: int) -> bytes:
    """Fragments from the head of one target's outbox, as many as fit in `budget` bytes (MS-PSRP 3.2.5.1.1:
    the server fragments the message, or what is left of it, when a Receive arrives, and a WS-MAN message
    SHOULD carry as many fragments as fit). At least one byte of data is always sent."""
    out = bytearray()
    while outbox:
        room = min(_MAX_FRAGMENT, budget - len(out)) - _FRAGMENT_HEADER
        if room <= 0 and out:
            break
        message = outbox[0]
        end = message.sent + max(room, 1)
        chunk = message.data[message.sent : end]
        message.sent += len(chunk)
        last = message.sent >= len(message.data)
        out += create_fragment(message.object_id, message.fragment_id, chunk, last)
        message.fragment_id += 1
        if last:
            outbox.popleft()
    return bytes(out)


def _receive_response(request: wire.Request, target: uuid.UUID | None, text: str, done: bool) -> bytes:
    """A ReceiveResponse carrying `text` (base64 fragments); a pipeline's says whether it is done."""
    body = ET.Element(f"{{{wire.NS['rsp']}}}ReceiveResponse")
    stream = ET.SubElement(body, f"{{{wire.NS['rsp']}}}Stream", Name="stdout")
    if target is not None:
        stream.set("CommandId", str(target).upper())
        state = ET.SubElement(
            body,
            f"{{{wire.NS['rsp']}}}CommandState",
            CommandId=str(target).upper(),
            State=wire.STATE_DONE if done else wire.STATE_RUNNING,
        )
        if done:
            ET.SubElement(state, f"{{{wire.NS['rsp']}}}ExitCode").text = "0"
    stream.text = text
    return wire.envelope(request, wire.ACTION_RECEIVE + "Response", body)


def _label(paths: list[Path | None]) -> str:
    """The recordings a miss names, short: the file, the files (two), or how many are in which folder."""
    names = [str(p) for p in paths if p is not None]
    folders = {str(Path(n).parent) for n in names}
    if len(names) > 2 and len(folders) == 1:
        return f"the {len(names)} recordings in {folders.pop()}"
    return ", ".join(names) or "the recordings"
