"""Simulated hosts for the tests and scripts: replies computed from state, served by the replay server.

A recording serves each reply once, in order; a host whose state changes (a mailbox switched stays
switched, a retried batch finds it done) needs replies computed when the command arrives. A
`SimulatedHost` is a `Player` for `ReplayServer`: it maps a command name (cmdlet, or packaged script
as the server names it) to a handler that takes the bound parameters and returns an episode spec
(`output`, `warnings`, `errors`, `terminating_error`: the synthetic authoring format). The reply is
serialized by psrpcore exactly as a recorded one, so pypsrp's client reads it through the same code.

`ExchangeOnlineTenant` is the jump host the reliability suite and the benchmarks run the bulk
rollout against: signed in to Exchange Online, answering `Connect-`/`Disconnect-ExchangeOnline`,
`exchange/Get-MailboxIdentities.ps1` (JSON pages of identities) and `exchange/Set-CloudManagedBatch.ps1`
(its `-ReadAhead` read after the batch) the way the scripts do on a real host (read each mailbox afresh,
parse the value it reports with the script's Get-Flag rule, fail it when the value is missing or the read
returns nothing, skip it when already in the desired state, else Set-Mailbox), and counting per mailbox
every write it was asked for and every Set-Mailbox it made, so a test can check at the server's side both
"nothing set twice" and that a report's outcomes are what the server did. Error texts and shapes: EXO V3
`<ExCode>|<.NET type>|<text>` messages as third-party captures report them (Microsoft documents
none); replies are what the scripts send, text lines (a `ConvertTo-Json -Compress` page of identities, a
`ConvertTo-Json -Compress` line per mailbox), so they carry no typed collection. The jump host's exception
type for a REST error (`WriteErrorException` here) is unverified (docs/exchange.md, Errors).

`BudgetedTenant` adds a write budget to it (`WriteBudget`: a service time per Set-Mailbox, a cap on
write pipelines at once, micro-delays then throttling past a rate; docs/exchange.md, The simulated write
budget), off unless that class is used; `serve` wraps the replay server's handler so that several
sessions are served at once.

Exchange Online's faults for the fault injector live here too (`exo_fault`): the engine
(`psbridge.replay.faults`) serves whatever error or warning text a rule gives it and knows no product.
This module is test machinery and is not shipped: the tests import it from their directory, and
scripts/bench.py and scripts/make_rollout_scenario.py put that directory on `sys.path`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from psbridge import ps
from psbridge.replay import synthetic, wire
from psbridge.replay.cassette import Target
from psbridge.replay.episodes import Episode, Miss
from psbridge.replay.faults import Rule
from psbridge.replay.keys import Key
from psbridge.replay.server import ReplayServer
from psbridge.types import parse_flag

Spec = dict[str, Any]
Handler = Callable[[Mapping[str, Any]], Spec]


class SimulatedHost:
    """A Player whose replies come from handlers, by command name (case-insensitive).

    `calls` keeps every key it was asked for, answered or not. A command with no handler, or a
    pipeline of several commands, is a miss: the client gets the replay-miss error naming it.
    """

    label = "simulated host"

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self.handlers = {name.lower(): handler for name, handler in (handlers or {}).items()}
        self.calls: list[Key] = []

    def take(self, key: Key) -> Episode | Miss:
        self.calls.append(key)
        handler = self.handlers.get(key.statements[0].command.lower()) if len(key.statements) == 1 else None
        if handler is None:
            return Miss(key, exhausted=False, nearest=(), sources=self.label)
        params = {p.name or "": p.value for p in key.statements[0].params}
        return Episode(key, synthetic.reply(handler(params)), self.label)

    def server(self, target: Target | None = None, **kwargs: Any) -> ReplayServer:
        """A ReplayServer answering from this host; `target` sets the endpoint and versions it reports."""
        target = target or Target(
            endpoint="https://jump01.contoso.example:5986/wsman", configuration_name="Microsoft.PowerShell",
            protocol_version="2.3", ps_version="5.1.20348.2849",
        )  # fmt: skip
        return ReplayServer(
            self, synthetic.pool_messages(target), configuration_name=target.configuration_name,
            script_names=ps.digests(), **kwargs,
        )  # fmt: skip


# -- Exchange Online ------------------------------------------------------------------------------------

ERRORS: dict[str, dict[str, str]] = {
    "not-found": {
        "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
        "couldn't be performed because object '{id}' couldn't be found on "
        "'CY4PR15A005DC12.NAMPR15A005.PROD.OUTLOOK.COM'.",
        "reason": "ManagementObjectNotFoundException",
    },
    "ambiguous": {
        "message": "Ex9E65A2|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation "
        "couldn't be performed because '{id}' matches multiple entries.",
        "reason": "ManagementObjectNotFoundException",
    },
    "replication": {
        "message": "Ex4215D1|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|Recipient "
        '"{id}" couldn\'t be read from domain controller "CY4PR15A005DC12.NAMPR15A005.PROD.OUTLOOK.COM". This may '
        "be due to replication delays. Please try again later.",
        "reason": "ManagementObjectNotFoundException",
    },
    "synced": {
        "message": '|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The operation on mailbox "{id}" '
        "failed because it's out of the current user's write scope. The action 'Set-Mailbox', "
        "'IsExchangeCloudManaged', can't be performed on the object '{id}' because the object is being synchronized "
        "from your on-premises organization. This action should be performed on the object in your on-premises "
        "organization.",
        "reason": "RecipientTaskException",
    },
    "dc-change": {
        "message": "|Microsoft.Exchange.Data.Directory.ADServerSettingsChangedException|An error caused a change in "
        "the current set of domain controllers.",
        "reason": "ADServerSettingsChangedException",
    },
    "dal": {
        "message": "|Microsoft.Exchange.Hygiene.Data.TransientDALException|The Hygiene DAL retried a transient "
        "condition the maximum number of times.",
        "reason": "TransientDALException",
    },
    "http-429": {"message": "Response status code does not indicate success: 429 (Too Many Requests).", "reason": ""},
    # The batch script's own failures: an ErrorRecord it builds (InvalidOperationException, its own id).
    "not-reported": {
        "message": "Get-Mailbox did not report IsExchangeCloudManaged for '{id}'; it was left unchanged.",
        "reason": "InvalidOperationException",
        "type": "System.InvalidOperationException",
        "id": "PsbridgeExchange.CloudManagedNotReported",
        "category": "InvalidData",
    },
    "not-read": {
        "message": "Get-Mailbox returned 0 mailboxes for '{id}' where one was expected.",
        "reason": "InvalidOperationException",
        "type": "System.InvalidOperationException",
        "id": "PsbridgeExchange.MailboxNotRead",
        "category": "ObjectNotFound",
    },
    "not-a-flag": {
        "message": 'Exception calling "ToBoolean" with "1" argument(s): "String was not recognized as a valid '
        'Boolean."',
        "reason": "MethodInvocationException",
        "type": "System.Management.Automation.MethodInvocationException",
        "id": "FormatException",
        "category": "NotSpecified",
    },
}
TRANSIENT_KINDS = ("dc-change", "dal", "http-429")

# EXO V3's FullyQualifiedErrorId as third parties captured it: server, request and time, then Write-ErrorMessage.
ERROR_ID = (
    "[Server=CY4PR15MB2345,RequestId=6c1d7e0a-3b5f-4e2a-9d8c-1f0b2a3c4d5e,TimeStamp=Wed, 25 Nov 2026 14:00:00 GMT],"
    "Write-ErrorMessage"
)
BATCH_SCRIPT = "exchange/Set-CloudManagedBatch.ps1"
IDENTITIES_SCRIPT = "exchange/Get-MailboxIdentities.ps1"

# Exchange Online's throttling (HTTP 429 from its REST endpoint, as the EXO V3 module reports it) and transient
# back-end errors, and its micro-delay warning (https://support.microsoft.com/kb/2881759), as fault rules.
EXO_FAULTS: dict[str, dict[str, str]] = {
    "exo-throttle": {
        "fault": "error",
        "message": "|System.Net.Http.HttpRequestException|Response status code does not indicate success: 429 ().",
    },
    "exo-transient": {"fault": "error", "message": ERRORS["dal"]["message"]},
    "micro-delay": {"fault": "warning", "message": "Micro delay applied. Actual delayed: 742 msecs, Enforced: False"},
}


def exo_fault(name: str, **when: Any) -> Rule:
    """One of EXO_FAULTS as a fault rule; `when` takes Rule's other fields (rate, every, nth, command)."""
    return Rule(**EXO_FAULTS[name], **when)


@dataclasses.dataclass
class Mailbox:
    """One mailbox's state. `cloud_managed`: IsExchangeCloudManaged as Get-Mailbox reports it, a bool,
    text (`"False"`, as a read may carry it) or None (not reported); `read_returns_nothing`: Get-Mailbox
    returns no object and no error for it. `transient_reads`/`transient_writes`: how many more
    reads/writes fail transiently (`transient_kind`) before one goes through; `read_error`/`write_error`:
    a permanent one."""

    identity: str
    cloud_managed: bool | str | None = False
    read_returns_nothing: bool = False
    read_error: str | None = None
    write_error: str | None = None
    transient_reads: int = 0
    transient_writes: int = 0
    transient_kind: str = "dc-change"


def batch_item(ident: str, outcome: str, before: bool | None, error: str | None = None) -> str:
    """One result line of the batch script: its object as PowerShell 5.1's ConvertTo-Json -Compress
    writes it, properties in the script's order."""
    spec = ERRORS[error] if error else None
    return _compressed_json(
        {
            "Identity": ident,
            "Outcome": outcome,
            "Before": before,
            "ErrorType": spec.get("type", "Microsoft.PowerShell.Commands.WriteErrorException") if spec else None,
            "ErrorMessage": spec["message"].replace("{id}", ident) if spec else None,
            "ErrorId": spec.get("id", ERROR_ID) if spec else None,
            "ErrorCategory": spec.get("category", "NotSpecified") if spec else None,
            "ErrorReason": spec["reason"] if spec else None,
        }
    )


def _compressed_json(value: Any) -> str:
    """ConvertTo-Json -Compress: no spaces, and `<`, `>`, `&` and `'` escaped as \\u00XX."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if c in "<>&'" else c for c in text)


class ExchangeOnlineTenant(SimulatedHost):
    """An Exchange Online jump host: mailboxes with state, the rollout's commands, write counts.

    Args:
        mailboxes: the tenant's mailboxes (identities compare case-insensitively).
        transient_rate: the fraction of Set-Mailbox calls that fail with a transient error (drawn
            from a generator seeded with `seed`) on top of each mailbox's own `transient_writes`.
        throttle: given the number of Set-Mailbox calls so far (this one included) and the batch's
            pace in milliseconds, the micro-delay warning text to add, or None.

    Attributes:
        writes: per mailbox (casefolded identity), the Set-Mailbox calls that went through (each
            changed its value: the script skips a mailbox already set).
        set_attempts: per mailbox, every Set-Mailbox call that reached the server, failed ones included.
        write_requests: per mailbox, the batches that ran asking to switch it (not dry runs), whatever
            they found. A batch sent twice shows here: its second run finds the mailbox set and makes
            no Set-Mailbox call, so `write_requests` exceeds `set_attempts`.
        batches: batch-script pipelines answered.
        set_calls: Set-Mailbox calls made, failed ones included.
        transient_failures: Set-Mailbox calls failed on purpose by `transient_rate`.
    """

    label = "simulated Exchange Online tenant"

    def __init__(
        self,
        mailboxes: list[Mailbox],
        *,
        transient_rate: float = 0.0,
        seed: int = 0,
        throttle: Callable[[int, int], str | None] | None = None,
    ) -> None:
        super().__init__({
            "Connect-ExchangeOnline": lambda _: {},
            "Disconnect-ExchangeOnline": lambda _: {},
            IDENTITIES_SCRIPT: self._identities,
            BATCH_SCRIPT: self._batch,
        })  # fmt: skip
        self.mailboxes = {box.identity.casefold(): box for box in mailboxes}
        self.transient_rate = transient_rate
        self.random = random.Random(f"tenant:{seed}")  # a test schedule, not crypto
        self.throttle = throttle
        self.writes: collections.Counter[str] = collections.Counter()
        self.set_attempts: collections.Counter[str] = collections.Counter()
        self.write_requests: collections.Counter[str] = collections.Counter()
        self.batches = 0
        self.set_calls = 0
        self.transient_failures = 0

    @property
    def total_writes(self) -> int:
        return sum(self.writes.values())

    def _identities(self, params: Mapping[str, Any]) -> Spec:
        """Get-MailboxIdentities.ps1: every mailbox's identity, in JSON pages of PageSize."""
        ids = [box.identity for box in self.mailboxes.values()]
        size = int(params.get("PageSize", 1000))
        return {"output": [_compressed_json(ids[start : start + size]) for start in range(0, len(ids), size)]}

    def _batch(self, params: Mapping[str, Any]) -> Spec:
        ids, enabled, dry_run = params["Identity"], params["Enabled"], params.get("DryRun", False)
        pace_ms = int(params.get("PaceMilliseconds", 0))
        self.batches += 1
        warnings: list[str] = []
        output = [self._one(str(ident), bool(enabled), bool(dry_run), pace_ms, warnings) for ident in ids]
        # -ReadAhead: read after the batch, exactly as a dry run reads (never written, never paced).
        output += [self._one(str(ident), bool(enabled), True, 0, warnings) for ident in params.get("ReadAhead") or ()]
        return {"output": output, "warnings": warnings}

    def _one(self, ident: str, enabled: bool, dry_run: bool, pace_ms: int, warnings: list[str]) -> str:
        if not dry_run:
            self.write_requests[ident.casefold()] += 1
        box = self.mailboxes.get(ident.casefold())
        if box is None:
            return batch_item(ident, "Failed", None, "not-found")
        if box.transient_reads:
            box.transient_reads -= 1
            return batch_item(ident, "Failed", None, "replication")
        if box.read_error:
            return batch_item(ident, "Failed", None, box.read_error)
        if box.read_returns_nothing:
            return batch_item(ident, "Failed", None, "not-read")
        try:
            before = parse_flag(box.cloud_managed)  # the batch script's Get-Flag rule
        except ValueError:
            return batch_item(ident, "Failed", None, "not-a-flag")
        if before is None:
            return batch_item(ident, "Failed", None, "not-reported")
        if before == enabled:
            return batch_item(ident, "AlreadySet", before)
        if dry_run:
            return batch_item(ident, "WouldChange", before)
        self.set_calls += 1
        self.set_attempts[ident.casefold()] += 1
        warning = self.throttle(self.set_calls, pace_ms) if self.throttle is not None else None
        if warning is not None:
            warnings.append(warning)
        if box.transient_writes:
            box.transient_writes -= 1
            return batch_item(ident, "Failed", before, box.transient_kind)
        if self.transient_rate and self.random.random() < self.transient_rate:
            self.transient_failures += 1
            return batch_item(ident, "Failed", before, self.random.choice(TRANSIENT_KINDS))
        if box.write_error:
            return batch_item(ident, "Failed", before, box.write_error)
        box.cloud_managed = enabled
        self.writes[ident.casefold()] += 1
        return batch_item(ident, "Changed", before)


# -- the write budget -----------------------------------------------------------------------------------

# What Exchange Online answers a write beyond its budget (docs/exchange.md, The simulated write budget): the
# EXO V3 module's report of an HTTP 429 from the REST endpoint (third-party: CIPP's retryable strings), the
# text the reference sheet classifies as throttling. Which text a tenant gives for too many concurrent REST
# requests is not documented; this one is classified the same way (TransientRemoteError).
TOO_MANY_REQUESTS = (
    "|System.Net.Http.HttpRequestException|Response status code does not indicate success: 429 (Too Many Requests)."
)
_STILL_RUNNING = (
    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
)
MICRO_DELAY = "Micro delay applied. Actual delayed: {ms} msecs, Enforced: False"  # KB2881759's wording


def too_many_requests() -> Spec:
    """A pipeline refused as throttled: `TOO_MANY_REQUESTS` as a terminating error, as the module reports it."""
    return {"terminating_error": {
        "message": TOO_MANY_REQUESTS, "fully_qualified_error_id": ERROR_ID, "category": "NotSpecified",
        "exception_type": "Microsoft.PowerShell.Commands.WriteErrorException",
    }}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class WriteBudget:
    """A tenant's write budget (docs/exchange.md, The simulated write budget; the defaults are assumptions).

    `write_cost_s`: the service time of one Set-Mailbox. `max_writers`: write pipelines served at once; one
    more is refused with `TOO_MANY_REQUESTS` as a terminating error. `writes_per_s`: the rate the tenant
    allows (None: `max_writers / write_cost_s`, so the cap binds first). A write pipeline that would push the
    rate of the write pipelines running past it gets its writes delayed, one micro-delay warning per write,
    and after `strikes` such pipelines in a row the next one that would is refused with `TOO_MANY_REQUESTS`.
    `read_cost_s`: the service time of one read (a dry run's Get-Mailbox, or a read-ahead's).
    """

    write_cost_s: float = 1.0
    max_writers: int = 3
    writes_per_s: float | None = None
    strikes: int = 3
    read_cost_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.writes_per_s if self.writes_per_s is not None else self.max_writers / self.write_cost_s


class BudgetedTenant(ExchangeOnlineTenant):
    """An ExchangeOnlineTenant with a write budget: service time, a cap on concurrent writers, micro-delays.

    The handler runs inside the replay server's lock, so it only accounts: the service time it owes is kept
    per thread, and `serve`'s wrapper holds the pipeline's Receives until it has passed, outside that lock,
    on the thread of the connection that asked. Several sessions' pipelines are thus served at once. A write
    pipeline is in flight from its arrival until its service time has passed (`time.monotonic`).

    Attributes (beyond the base class's): `peak_writers`, the most write pipelines in flight at once,
    refused ones not counted; `refused`, write pipelines refused; `micro_delays`, warnings sent.
    """

    def __init__(self, mailboxes: list[Mailbox], budget: WriteBudget, **kwargs: Any) -> None:
        super().__init__(mailboxes, **kwargs)
        self.budget = budget
        self._owed = threading.local()  # the service time of the pipeline this thread's request started
        self._ready: dict[str, float] = {}  # by CommandId: when its output may go out (time.monotonic)
        self._lock = threading.Lock()
        self._flying: list[tuple[float, float]] = []  # (ends at, writes per second) of each write pipeline
        self._strikes = 0
        self.peak_writers = 0
        self.refused = 0
        self.micro_delays = 0

    def serve(self, handle: Callable[[bytes], tuple[int, bytes]]) -> Callable[[bytes], tuple[int, bytes]]:
        """`handle` (a ReplayServer's), with the service time of each pipeline before its output: as Windows
        does for a command still running, a Receive is held for at most its OperationTimeout, then answered
        with the operation-timeout fault (the client asks again), until the pipeline's time has passed."""

        def served(data: bytes) -> tuple[int, bytes]:
            self._owed.s = 0.0
            try:
                request = wire.Request.parse(data)
            except wire.WireError:
                return handle(data)
            command_id = _command_id(request)
            if request.action == wire.ACTION_RECEIVE and command_id in self._ready:
                wait = self._ready[command_id] - time.monotonic()
                time.sleep(max(0.0, min(wait, request.operation_timeout_s)))
                if wait > request.operation_timeout_s:
                    return 500, wire.fault(request, wire.FAULT_OPERATION_TIMEOUT, _STILL_RUNNING)
                self._ready.pop(command_id, None)
            answer = handle(data)
            if self._owed.s > 0 and command_id is not None:
                self._ready[command_id] = time.monotonic() + self._owed.s
            return answer

        return served

    def _batch(self, params: Mapping[str, Any]) -> Spec:
        if params.get("DryRun", False):
            self._owed.s = self.budget.read_cost_s * len(params["Identity"])
            return super()._batch(params)
        pace_s = int(params.get("PaceMilliseconds", 0)) / 1000
        period = self.budget.write_cost_s + pace_s
        with self._lock:
            now = time.monotonic()
            self._flying = [f for f in self._flying if f[0] > now]
            others = sum(rate for _, rate in self._flying)
            room = self.budget.rate - others  # writes per second this pipeline may take
            delay_s = max(0.0, 1 / room - period) if room > 0 else math.inf
            late = delay_s > 1e-9
            if len(self._flying) >= self.budget.max_writers or (late and self._strikes >= self.budget.strikes):
                self.refused += 1
                return too_many_requests()
            self._strikes = self._strikes + 1 if late else 0
            before = self.set_calls
            spec = super()._batch(params)
            writes = self.set_calls - before
            if late:
                spec["warnings"] = [*spec["warnings"], *[MICRO_DELAY.format(ms=round(delay_s * 1000))] * writes]
                self.micro_delays += writes
            service = writes * (period + delay_s) + self.budget.read_cost_s * len(params.get("ReadAhead") or ())
            self._flying.append((now + service, 1 / (period + delay_s)))
            self.peak_writers = max(self.peak_writers, len(self._flying))
            self._owed.s = service
            return spec


def _command_id(request: wire.Request) -> str | None:
    """The pipeline a Command, Send or Receive is about (its CommandId, upper-case), or None."""
    path = {wire.ACTION_COMMAND: "rsp:CommandLine", wire.ACTION_SEND: "rsp:Send/rsp:Stream",
            wire.ACTION_RECEIVE: "rsp:Receive/rsp:DesiredStream"}.get(request.action)  # fmt: skip
    element = request.body.find(path, wire.NS) if path is not None else None
    found = element.get("CommandId") if element is not None else None
    return found.upper() if found else None
