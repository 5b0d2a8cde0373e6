"""Recording a live session at pypsrp's transport seam.

The tap sits where pypsrp hands plaintext SOAP to its HTTP transport, so it sees decrypted traffic even
when NTLM or Kerberos message encryption is on, and never sees an authentication header. What the
client sends is fed to a shadow `ReplayServer`, so episodes are keyed by the very function replay
matches with; what the host answers is cut back into whole PSRP messages and stored per pipeline.
"""

from __future__ import annotations

import uuid
from typing import Any

from psbridge import ps
from psbridge.replay import wire
from psbridge.replay.episodes import Episode, EpisodePlayer, Miss, RecordedMessage
from psbridge.replay.keys import Key
from psbridge.replay.server import ReplayServer, pipeline_state_of

_FINAL = {3, 4, 5}  # Stopped, Completed, Failed


class Recorder:
    def __init__(self, configuration_name: str) -> None:
        self.shadow = ReplayServer(
            EpisodePlayer([], "live host"),
            [],
            configuration_name=configuration_name,
            script_names=ps.digests(),
            on_episode=self._keyed,
        )
        self.pool: list[RecordedMessage] = []
        self.episodes: list[Episode] = []
        self.secrets: set[str] = set()
        self._pool_done = False
        self._keys: dict[uuid.UUID, Key] = {}
        self._messages: dict[uuid.UUID, list[RecordedMessage]] = {}
        self._defrag: dict[uuid.UUID | None, wire.Defragmenter] = {}

    def wrap(self, inner: Any) -> RecordingWire:
        return RecordingWire(inner, self)

    def _keyed(self, pipeline_id: uuid.UUID, key: Key, outcome: Episode | Miss) -> None:
        self._keys[pipeline_id] = key
        self._messages[pipeline_id] = []

    def observe(self, request_bytes: bytes, response: bytes) -> None:
        request = wire.Request.parse(request_bytes)
        if request.action == wire.ACTION_RECEIVE:
            self._received(response)
            return
        proposed = _proposed_shell_id(request) if request.action == wire.ACTION_CREATE else None
        self.shadow.handle(request_bytes)
        if proposed:
            live = wire.Request.parse(response).body.find(
                "wst:ResourceCreated/wsa:ReferenceParameters/wsman:SelectorSet/wsman:Selector", wire.NS
            )
            if live is not None and live.text and live.text.upper() != proposed and proposed in self.shadow.shells:
                self.shadow.shells[live.text.upper()] = self.shadow.shells.pop(proposed)

    def _received(self, response: bytes) -> None:
        command_id, data = wire.receive_streams(response)
        target = uuid.UUID(command_id) if command_id else None
        for message in self._defrag.setdefault(target, wire.Defragmenter()).feed(data):
            recorded = RecordedMessage(message.message_type.name, message.clixml)
            if target is None:
                if not self._pool_done:
                    self.pool.append(recorded)
                    self._pool_done = message.message_type.name == "RunspacePoolState"
                continue
            if target not in self._messages:
                continue
            self._messages[target].append(recorded)
            if recorded.type == "PipelineState" and pipeline_state_of(recorded.clixml) in _FINAL:
                # Parameter values equal to a known secret become wildcards.
                key = self._keys.pop(target).redacted(lambda p: isinstance(p.value, str) and p.value in self.secrets)
                self.episodes.append(Episode(key, self._messages.pop(target), "recorded"))
                self._defrag.pop(target, None)


class RecordingWire:
    """Passes every request to the live wire and shows both directions to the Recorder."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    @property
    def endpoint(self) -> str:
        return str(self.inner.endpoint)

    def send(self, message: bytes, **kwargs: Any) -> bytes:
        response = bytes(self.inner.send(message, **kwargs))
        self.recorder.observe(message, response)
        return response

    def close(self) -> None:
        self.inner.close()


def _proposed_shell_id(request: wire.Request) -> str | None:
    shell = request.body.find("rsp:Shell", wire.NS)
    value = shell.get("ShellId") if shell is not None else None
    return value.upper() if value else None
