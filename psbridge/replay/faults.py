"""Deterministic fault injection for the replay server: the network and the host misbehaving on purpose.

A `FaultInjector` holds rules. Each rule names a fault and when it fires: on a fraction of the events
it matches (`rate`, drawn from a generator seeded per rule), on every n-th (`every`), or on the n-th
only (`nth`). The same seed and the same sequence of requests give the same faults.

Two levels, one injector:
- **request faults** wrap `ReplayServer.handle`. They fire before the server sees the request, which is
  then lost with the connection or refused: `reset`, `shell-not-found` (the server really forgets the
  shell, as after an idle disconnect), `quota-shells`, `quota-operations`, `http-500`, `http-503`,
  `http-401`. `action` narrows them to one WSMan action (Create, Command, Send, Receive, Signal, Delete,
  Get); `command` to the requests of a pipeline whose command contains that text.
- **pipeline faults** use the server's `on_pipeline` hook and change one command's reply: `hang` (the
  command never finishes, so every Receive waits out its OperationTimeout until the client stops it),
  `error` (a Failed pipeline whose terminating error record carries the rule's `message`; the recorded
  episode stays unplayed for the retry), `warning` (the rule's `message` as a warning before the
  recorded reply). `command` narrows them to one command.

The engine knows no product: what a host says when it throttles or fails (its error texts, its
warnings) is data, the `message` of an `error` or `warning` rule. A fault file is YAML, and a recording
may declare its host's faults in the same form under a top-level `faults:` key (`psbridge serve-replay`
and `--replay` then apply them):

    seed: 7
    faults:
      - {fault: reset, rate: 0.05, action: Command}
      - {fault: error, every: 10, command: Set-Mailbox,
         message: "|System.Net.Http.HttpRequestException|Response status code does not indicate success: 429 ()."}
      - {fault: shell-not-found, nth: 3}

`reset` raises `ConnectionResetError` out of the handler: the HTTP endpoint then drops the socket
without a reply, and in-process it reaches the client as the OSError of a dropped connection.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from psbridge import safeio
from psbridge.errors import InputError
from psbridge.replay import wire
from psbridge.replay.cassette import Cassette, yaml_problem
from psbridge.replay.episodes import RecordedMessage
from psbridge.replay.keys import Key
from psbridge.replay.server import Injection, ReplayServer

Handler = Callable[[bytes], tuple[int, bytes]]

FAULT_QUOTA = 2150859174
QUOTA_SHELLS = (
    "The WS-Management service cannot process the request. This user is allowed a maximum number of 5 "
    "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user."
)
QUOTA_OPERATIONS = (
    "The WS-Management service cannot process the request. This user is allowed a maximum number of 15 "
    "concurrent operations, which has been exceeded. Close existing operations for this user, or raise the "
    "quota for this user."
)
REQUEST_FAULTS = (
    "reset", "shell-not-found", "quota-shells", "quota-operations", "http-500", "http-503", "http-401",
)  # fmt: skip
PIPELINE_FAULTS = ("hang", "error", "warning")
_WITH_MESSAGE = ("error", "warning")  # the faults whose text the rule supplies
KINDS = (*REQUEST_FAULTS, *PIPELINE_FAULTS)
ACTIONS = {
    "Create": wire.ACTION_CREATE,
    "Command": wire.ACTION_COMMAND,
    "Send": wire.ACTION_SEND,
    "Receive": wire.ACTION_RECEIVE,
    "Signal": wire.ACTION_SIGNAL,
    "Delete": wire.ACTION_DELETE,
    "Get": wire.ACTION_GET,
}
# Where each request fault happens on a real host unless a rule says otherwise.
_DEFAULT_ACTION = {"shell-not-found": "Command", "quota-shells": "Create", "quota-operations": "Command"}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One fault and when it fires. Without `rate`, `every` or `nth` it fires on every match. `message`: the
    text of an `error` or `warning` (required for those, refused for the others)."""

    fault: str
    rate: float | None = None
    every: int | None = None
    nth: int | None = None
    action: str | None = None
    command: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.fault not in KINDS:
            raise InputError(f"unknown fault {self.fault!r}; known: {', '.join(KINDS)}")
        if sum(v is not None for v in (self.rate, self.every, self.nth)) > 1:
            raise InputError(f"fault {self.fault}: give one of rate, every, nth")
        if self.rate is not None and (
            isinstance(self.rate, bool) or not isinstance(self.rate, int | float) or not 0 < self.rate <= 1
        ):
            raise InputError(f"fault {self.fault}: rate must be a fraction in (0, 1], not {self.rate}")
        for name in ("every", "nth"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"fault {self.fault}: {name} must be a whole number >= 1, not {value!r}")
        for name in ("action", "command", "message"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise InputError(f"fault {self.fault}: {name} must be text")
        if self.action is not None:
            if self.fault in PIPELINE_FAULTS:
                raise InputError(f"fault {self.fault} changes a command's reply and takes no action")
            if self.action not in ACTIONS:
                raise InputError(f"fault {self.fault}: action must be one of {', '.join(ACTIONS)}")
        if self.fault in _WITH_MESSAGE and not self.message:
            raise InputError(f"fault {self.fault} needs a `message`: the text the host sends (a fault file's rule)")
        if self.fault not in _WITH_MESSAGE and self.message is not None:
            raise InputError(f"fault {self.fault} takes no message")

    @classmethod
    def parse(cls, text: str) -> Rule:
        """`KIND` or `KIND:RATE`, as the `--fault` flag takes it."""
        kind, sep, rate = text.partition(":")
        try:
            return cls(kind.strip(), rate=float(rate) if sep else None)
        except ValueError:
            raise InputError(f"--fault takes KIND or KIND:RATE, not {text!r}") from None

    @property
    def level(self) -> str:
        return "pipeline" if self.fault in PIPELINE_FAULTS else "request"

    @property
    def effective_action(self) -> str | None:
        return self.action or _DEFAULT_ACTION.get(self.fault)


@dataclasses.dataclass(frozen=True)
class Injected:
    """One fault that fired: at which request (1-based, counted by the injector), what, and where."""

    request: int
    fault: str
    action: str
    command: str | None


class _Trigger:
    def __init__(self, rule: Rule, seed: int, index: int) -> None:
        self.rule = rule
        self.matches = 0
        self.random = random.Random(f"{seed}:{index}:{rule.fault}")  # noqa: S311 - a test schedule, not crypto

    def fires(self) -> bool:
        self.matches += 1
        rule = self.rule
        if rule.every is not None:
            return self.matches % rule.every == 0
        if rule.nth is not None:
            return self.matches == rule.nth
        return rule.rate is None or self.random.random() < rule.rate


class FaultInjector:
    """Applies rules to the requests and pipelines of one or more ReplayServers."""

    def __init__(self, rules: Sequence[Rule], *, seed: int = 0) -> None:
        self.rules = tuple(rules)
        self.seed = seed
        self._triggers = [_Trigger(rule, seed, i) for i, rule in enumerate(self.rules)]
        self._servers: list[ReplayServer] = []
        self._commands: dict[str, str] = {}
        self._current: str | None = None
        self.requests = 0
        self.injected: list[Injected] = []
        self._lock = threading.Lock()  # the endpoint handles requests on several threads

    @classmethod
    def from_data(
        cls, sources: Sequence[tuple[Any, str]], *, extra: Sequence[Rule] = (), seed: int | None = None
    ) -> FaultInjector:
        """Rules from fault-file documents (each with where it came from, for errors), then `extra`.
        The seed is `seed`, else the first document's, else 0."""
        rules: list[Rule] = []
        seeds: list[int] = []
        for data, where in sources:
            if not isinstance(data, Mapping) or not isinstance(data.get("faults", []), list):
                raise InputError(f"{where}: expected a mapping with a `faults` list")
            rules.extend(_rule(item, where) for item in data.get("faults", []))
            if "seed" in data:
                if isinstance(data["seed"], bool) or not isinstance(data["seed"], int):
                    raise InputError(f"{where}: seed must be a whole number")
                seeds.append(data["seed"])
        return cls([*rules, *extra], seed=seed if seed is not None else next(iter(seeds), 0))

    @classmethod
    def configured(
        cls,
        cassettes: Sequence[Cassette],
        *,
        fault_file: str | Path | None = None,
        flags: Sequence[Rule] = (),
        seed: int | None = None,
    ) -> FaultInjector | None:
        """The faults of a fault file, then those the recordings declare (their `faults` sections), then
        `flags`; None when there are none. The seed: `seed`, else the file's, else a recording's."""
        sources = [read_fault_file(fault_file)] if fault_file is not None else []
        sources += [(c.faults, f"recording {c.path or ''}: faults") for c in cassettes if c.faults is not None]
        return cls.from_data(sources, extra=flags, seed=seed) if sources or flags else None

    def attach(self, handle: Handler, *servers: ReplayServer) -> Handler:
        """Wrap `handle` (a server's, or a router over several) and hook the servers' pipelines."""
        for server in servers:
            server.on_pipeline = self._on_pipeline
            self._servers.append(server)

        def faulty(data: bytes) -> tuple[int, bytes]:
            return self._handle(handle, data)

        return faulty

    # -- request faults -------------------------------------------------------------------------

    def _handle(self, handle: Handler, data: bytes) -> tuple[int, bytes]:
        try:
            request = wire.Request.parse(data)
        except wire.WireError:
            with self._lock:
                self.requests += 1
            return handle(data)
        action = next((name for name, uri in ACTIONS.items() if uri == request.action), request.action)
        command_id = next((el.get("CommandId") for el in request.body.iter() if el.get("CommandId")), None)
        with self._lock:
            self.requests += 1
            command = self._commands.get(command_id.upper()) if command_id else None
            rule = self._fire("request", action, command)
            self._current = action
            if rule is not None:
                self.injected.append(Injected(self.requests, rule.fault, action, command))
        if rule is None:
            return handle(data)
        if rule.fault == "reset":
            raise ConnectionResetError(f"fault injection: connection reset before the {action} reply")
        if rule.fault == "shell-not-found":
            for server in self._servers:
                server.shells.pop(request.shell_id or "", None)
            return handle(data)
        if rule.fault in ("quota-shells", "quota-operations"):
            text = QUOTA_SHELLS if rule.fault == "quota-shells" else QUOTA_OPERATIONS
            return 500, wire.fault(request, FAULT_QUOTA, text)
        status = int(rule.fault.removeprefix("http-"))
        return status, f"fault injection: HTTP {status}".encode()

    def _fire(self, level: str, action: str | None, command: str | None) -> Rule | None:
        for trigger in self._triggers:
            rule = trigger.rule
            if rule.level != level:
                continue
            if level == "request" and rule.effective_action not in (None, action):
                continue
            if rule.command is not None and (command is None or rule.command.lower() not in command.lower()):
                continue
            if trigger.fires():
                return rule
        return None

    # -- pipeline faults ------------------------------------------------------------------------

    def _on_pipeline(self, pipeline_id: uuid.UUID, key: Key) -> Injection | None:
        display = key.display()
        with self._lock:
            self._commands[str(pipeline_id).upper()] = display
            rule = self._fire("pipeline", None, display)
            if rule is None:
                return None
            self.injected.append(Injected(self.requests, rule.fault, self._current or "", display))
        if rule.fault == "hang":
            return Injection((), replace=True)
        if rule.fault == "warning":
            return Injection(_records({"warnings": [rule.message]}), replace=False)
        error = {
            "message": rule.message,
            "fully_qualified_error_id": f"psbridge.FaultInjection.{rule.fault}",
            "exception_type": "System.Management.Automation.RemoteException",
            "category": "NotSpecified",
        }
        return Injection(_records({"terminating_error": error}, final=True), replace=True)


def read_fault_file(path: str | Path) -> tuple[Any, str]:
    """A fault file's document, and how errors name it: a regular file of bounded size, YAML without
    anchors or aliases; every failure is one InputError line."""
    try:
        return safeio.load_yaml(safeio.read_text(path, "fault file")) or {}, f"fault file {path}"
    except InputError as exc:
        raise InputError(f"cannot read the fault file: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"cannot read the fault file {path}: {yaml_problem(exc)}") from None


def _records(spec: dict[str, Any], *, final: bool = False) -> tuple[RecordedMessage, ...]:
    """Messages built by the synthetic-recording author, with or without the final PipelineState."""
    from psbridge.replay.synthetic import reply

    messages = reply(spec)
    return tuple(m for m in messages if final or m.type != "PipelineState")


def _rule(item: Any, where: str) -> Rule:
    if not isinstance(item, Mapping) or "fault" not in item:
        raise InputError(f"{where}: each entry needs a `fault`, not {item!r}")
    unknown = set(item) - {f.name for f in dataclasses.fields(Rule)}
    if unknown:
        raise InputError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    try:
        return Rule(**{str(k): v for k, v in item.items()})
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
