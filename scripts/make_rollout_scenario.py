"""Generate the bulk-rollout replay scenario: 1,050 Exchange Online mailboxes in mixed states.

Writes the declarative description `recorded_sessions/sources/rollout/cloud-managed.yaml` (what
`scripts/author_recording.py` reads) and the recording authored from it,
`recorded_sessions/rollout/cloud-managed.yaml`.

Nobody typed the episodes: a simulated jump host (`Tenant`, below) answers the commands psbridge
sends, and the real rollout (`psbridge.exchange.rollout`) runs against it through a MockTransport,
once per scenario in `SCENARIOS`. What each session sent and was answered becomes the episodes, as a
live recording would. The batch script's key holds the batch's identities, its DryRun flag and its
pace, so the recording fixes them: it was made with `BATCH_SIZE` mailboxes per batch and the
default pace, and the tests use the same. Replay serves the episodes of one key in order, afresh for
each session; so two sessions that send the same command must have been answered alike, which the
generator checks before it merges them.

Error texts and shapes: EXO V3 messages in the `<ExCode>|<.NET type>|<text>` form and the write-scope text of an
object synchronized from on-premises, as third-party captures report them (Microsoft documents neither); the
micro-delay warning of https://support.microsoft.com/kb/2881759. Replies hold only what the scripts send: text
(`exchange/Get-MailboxIdentities.ps1` writes `ConvertTo-Json -Compress` pages of identities,
`exchange/Set-CloudManagedBatch.ps1` one `ConvertTo-Json -Compress` line per mailbox), so no typed collection
appears here. What the jump host's exception type is for a REST error (`WriteErrorException` here) is
unverified (docs/exchange.md, Errors).

    python scripts/make_rollout_scenario.py           write both files
    python scripts/make_rollout_scenario.py --check   exit 1 when either file is out of date
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from psbridge import Command, Session
from psbridge.exchange.connection import ExoConnection, connect_exchange_online
from psbridge.exchange.rollout import RolloutProgress, rollout_cloud_managed
from psbridge.exchange.rules import opath_filter
from psbridge.replay import synthetic
from psbridge.replay.keys import canonical
from psbridge.result import InvocationResult, PSObjectData, Streams
from psbridge.retry import NO_RETRY
from psbridge.transport.mock import MockTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the simulated tenant is test machinery
from simulated import ExchangeOnlineTenant, Mailbox

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "recorded_sessions" / "sources" / "rollout" / "cloud-managed.yaml"
RECORDING = ROOT / "recorded_sessions" / "rollout" / "cloud-managed.yaml"

MAILBOXES = 1050
BATCH_SIZE = 200  # psbridge's default (DEFAULT_BATCH_SIZE): the README's walkthrough replays the recording with it
JUMP_HOST = "exo-jump01.contoso.example"
CONNECTION = ExoConnection(
    organization="contoso.onmicrosoft.com",
    app_id="0f4c3c7e-5a2b-4d8e-9c61-2b7d4e8f1a93",
    certificate_thumbprint="3C5F8A2B9D1E4F7A6B0C2D8E5F1A9B3C7D4E6F20",
)
FILTER = opath_filter("RecipientTypeDetails -eq {} -and IsDirSynced -eq {}", "UserMailbox", True)
INTERRUPTED_AFTER = 2  # batches: the "interrupted" scenario is stopped after this many
TORN_AFTER = 4  # batches: the "torn" one too, and its journal then cut mid-line

# Mailboxes by number: 1..MAILBOXES, `user0001@contoso.example` and so on.
MISSING = (37, 412, 808)  # in the list, not in the tenant
AMBIGUOUS = (521,)  # Get-Mailbox: "matches multiple entries"
SYNCED = (150, 151, 733, 990)  # Set-Mailbox: the write-scope error of an AD-mastered attribute
TRANSIENT_WRITES = {64: "dc-change", 300: "http-429", 655: "dal", 1001: "dc-change", 222: "http-429"}
TWICE = (222,)  # fails transiently twice before it succeeds
TRANSIENT_READS = (880,)  # Get-Mailbox: a not-found that is a replication delay, once
ROLLBACK = tuple(range(1, 61))  # the "rollback" scenario switches these back to False
# Micro-delay: while writes WINDOW[0]..WINDOW[1] go through, every 20th write is delayed when the
# pace is under CALM_MS between writes.
WINDOW = (251, 450)
CALM_MS = 1000


def identity(number: int) -> str:
    return f"user{number:04d}@contoso.example"


def identities() -> list[str]:
    """The rollout's input list, in order: every mailbox, the missing ones included."""
    return [identity(n) for n in range(1, MAILBOXES + 1)]


def already_cloud_managed(number: int) -> bool:
    """About one mailbox in eight is cloud-managed before the rollout (a stable pseudo-random pick)."""
    return hashlib.sha256(f"rollout-{number}".encode()).digest()[0] < 32


class Tenant(ExchangeOnlineTenant):
    """The scenario's jump host: `MAILBOXES` mailboxes with the special cases listed above."""

    def __init__(self, *, clean: bool = False, count: int = MAILBOXES, throttle: bool = True) -> None:
        """`clean`: every mailbox exists, none cloud-managed, none fails; `throttle`: micro-delay warnings."""
        boxes = []
        for n in range(1, count + 1):
            if not clean and n in MISSING:
                continue
            special = n in (*AMBIGUOUS, *SYNCED, *TRANSIENT_WRITES, *TRANSIENT_READS)
            box = Mailbox(identity(n), cloud_managed=not clean and not special and already_cloud_managed(n))
            if not clean:
                box.read_error = "ambiguous" if n in AMBIGUOUS else None
                box.write_error = "synced" if n in SYNCED else None
                box.transient_reads = 1 if n in TRANSIENT_READS else 0
                box.transient_writes = (2 if n in TWICE else 1) if n in TRANSIENT_WRITES else 0
                box.transient_kind = TRANSIENT_WRITES.get(n, box.transient_kind)
            boxes.append(box)
        super().__init__(boxes, throttle=micro_delay if throttle else None)

    def answer(self, command: Command) -> tuple[list[Any], list[str]]:
        """Output and warnings for one command, as the server would answer its key."""
        params = {p.name: canonical(p.value) for p in command.parameters}
        handler = self.handlers.get(command.name.lower())
        if handler is None:
            raise SystemExit(f"make_rollout_scenario: the simulated host cannot answer {command.display()}")
        spec = handler(params)
        return list(spec.get("output", [])), list(spec.get("warnings", []))


def micro_delay(writes: int, pace_ms: int) -> str | None:
    """While writes WINDOW[0]..WINDOW[1] go through at a pace under CALM_MS, every 20th is delayed."""
    if WINDOW[0] <= writes <= WINDOW[1] and pace_ms < CALM_MS and writes % 20 == 0:
        return f"Micro delay applied. Actual delayed: {1200 + 100 * (writes % 7)} msecs, Enforced: False"
    return None


# -- recording sessions -------------------------------------------------------------------------------


class Recorder:
    """Sessions against a Tenant, each keeping the episodes it was served."""

    def __init__(self) -> None:
        self.sessions: list[list[dict[str, Any]]] = []

    def session(self, tenant: Tenant, *, connect: bool = True) -> Session:
        served: list[dict[str, Any]] = []
        self.sessions.append(served)

        def handle(command: Command) -> InvocationResult:
            output, warnings = tenant.answer(command)
            served.append(episode_spec(command, output, warnings))
            objects = tuple(
                PSObjectData(("System.Management.Automation.PSCustomObject", "System.Object"), o)
                if isinstance(o, dict)
                else o
                for o in output
            )
            return InvocationResult(command.display(), objects, Streams(warning=tuple(warnings)))

        session = Session(transport=MockTransport(handle, target=JUMP_HOST), retry=NO_RETRY)
        if connect:
            connect_exchange_online(session, CONNECTION)
        return session

    def episodes(self) -> list[dict[str, Any]]:
        """Every session's episodes, merged: per key, each session must have been served a prefix of one list."""
        by_key: dict[str, list[dict[str, Any]]] = {}
        order: list[dict[str, Any]] = []
        for number, served in enumerate(self.sessions, start=1):
            seen: dict[str, int] = {}
            for spec in served:
                key = json.dumps({k: v for k, v in spec.items() if k not in ("output", "warnings")}, sort_keys=True)
                index = seen.get(key, 0)
                seen[key] = index + 1
                known = by_key.setdefault(key, [])
                if index < len(known):
                    if known[index] != spec:
                        raise SystemExit(f"make_rollout_scenario: session {number} was answered differently for {key}")
                    continue
                known.append(spec)
                order.append(spec)
        return order


def episode_spec(command: Command, output: list[Any], warnings: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"script" if command.is_script else "command": command.name}
    if command.parameters:
        spec["parameters"] = [{"name": p.name, "value": canonical(p.value)} for p in command.parameters]
    if output:
        spec["output"] = [{"properties": o} if isinstance(o, dict) else o for o in output]
    if warnings:
        spec["warnings"] = warnings
    return spec


class Stop(Exception):
    """Stands in for a kill between two batches."""


def stop_after(batches: int) -> Callable[[RolloutProgress], None]:
    count = 0

    def on_progress(_: RolloutProgress) -> None:
        nonlocal count
        count += 1
        if count >= batches:
            raise Stop(f"stopped after {count} batches")

    return on_progress


def tear(journal: Path) -> str:
    """What a kill in the middle of writing leaves: the last batch record gone, the last item line cut in
    half (no newline). Returns the identity on the torn line."""
    lines = journal.read_bytes().split(b"\n")[:-1]
    while json.loads(lines[-1])["kind"] != "item":
        lines.pop()
    torn = lines.pop()
    journal.write_bytes(b"".join(line + b"\n" for line in lines) + torn[: len(torn) // 2])
    return str(json.loads(torn)["identity"])


def rollout(session: Session, journal: Path, **kwargs: Any) -> None:
    kwargs.setdefault("identities", identities() if "filter" not in kwargs else None)
    with session, contextlib.suppress(Stop):
        rollout_cloud_managed(session, journal=journal, batch_size=BATCH_SIZE, sleep=lambda _: None, **kwargs)


def run_scenarios(workdir: Path) -> list[dict[str, Any]]:
    """Run every scenario; the episodes they were served, merged."""
    recorder = Recorder()
    # 1. dry run of the filter: resolve, then read every mailbox; and of the list (the README replays it): a dry
    #    run reads every batch by a pipeline of its own, where the rollout reads most of them ahead
    rollout(recorder.session(Tenant()), workdir / "dry.jsonl", filter=FILTER, dry_run=True)
    rollout(recorder.session(Tenant()), workdir / "dry-list.jsonl", dry_run=True)
    # 2. the rollout, start to end; then run again with its journal: it reads what it switched
    tenant = Tenant()
    rollout(recorder.session(tenant), workdir / "full.jsonl")
    rollout(recorder.session(tenant), workdir / "full.jsonl")
    # 3. stopped after INTERRUPTED_AFTER batches, then resumed: the same batches as 2 (checked by the merge), and
    #    the reads of what the first part switched
    tenant = Tenant()
    rollout(recorder.session(tenant), workdir / "stopped.jsonl", on_progress=stop_after(INTERRUPTED_AFTER))
    rollout(recorder.session(tenant), workdir / "stopped.jsonl")
    # 4. stopped after TORN_AFTER batches with its last journal line torn, then resumed
    tenant = Tenant()
    rollout(recorder.session(tenant), workdir / "torn.jsonl", on_progress=stop_after(TORN_AFTER))
    tear(workdir / "torn.jsonl")
    rollout(recorder.session(tenant), workdir / "torn.jsonl")
    # 5. rollback: switch ROLLBACK (all cloud-managed) back to on-premises management, a clean run: its one write
    #    is the batch tests/test_contract.py calls `set_cloud_managed_batch` with
    tenant = Tenant(clean=True)
    for n in ROLLBACK:
        tenant.mailboxes[identity(n)].cloud_managed = True
    rollout(
        recorder.session(tenant), workdir / "rollback.jsonl", identities=[identity(n) for n in ROLLBACK], enabled=False
    )
    return recorder.episodes()


HEADER = f"""\
# Source of recorded_sessions/rollout/cloud-managed.yaml. GENERATED by scripts/make_rollout_scenario.py:
# edit that script, not this file, and run it again (it writes both files).
# Synthetic: a simulated jump host answered psbridge's real rollout; see the script's docstring.
#
# {MAILBOXES} mailboxes user0001..user{MAILBOXES:04d}@contoso.example, batches of {BATCH_SIZE}, default pace (500 ms):
#   about one in eight already cloud-managed; not in the tenant: {", ".join(map(str, MISSING))};
#   ambiguous: {", ".join(map(str, AMBIGUOUS))};
#   Set-Mailbox write-scope error (AD-mastered): {", ".join(map(str, SYNCED))};
#   transient Set-Mailbox failures that succeed on a retry: {", ".join(map(str, TRANSIENT_WRITES))}
#   ({", ".join(map(str, TWICE))} fails twice);
#   a replication-delay read failure once: {", ".join(map(str, TRANSIENT_READS))};
#   micro-delay warnings on writes {WINDOW[0]}-{WINDOW[1]} while the pace is under {CALM_MS} ms.
# Scenarios, in order: dry runs of the filter and of the list; the full rollout, and a re-run with its journal (it
# reads again what the journal says is switched); one stopped after {INTERRUPTED_AFTER} batches and resumed (the
# same batches, and the reads of what the first run switched); one stopped after {TORN_AFTER} batches, its
# journal's last line torn, resumed; a rollback (--disable) of user0001-{len(ROLLBACK):04d}.
# A batch is read (the script's dry run, no pause), then its mailboxes to switch are written; the write pipeline
# also reads the next batch (-ReadAhead), so only a session's first batch, and a batch after one that wrote
# nothing, has a read pipeline of its own.
"""


def source(episodes: list[dict[str, Any]]) -> str:
    document = {
        "origin": "synthetic",
        "authored_at": "2026-11-25T00:00:00+00:00",
        "description": f"Bulk cloud-managed rollout over {MAILBOXES} Exchange Online mailboxes of contoso.example, "
        f"through the jump host {JUMP_HOST}, in batches of {BATCH_SIZE}.",
        "target": {
            "endpoint": f"https://{JUMP_HOST}:5986/wsman",
            "configuration_name": "Microsoft.PowerShell",
            "protocol_version": "2.3",
            "ps_version": "5.1.20348.2849",
        },
        "x-rollout": {"batch_size": BATCH_SIZE, "mailboxes": MAILBOXES, "filter": FILTER},
        "episodes": episodes,
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=4096, allow_unicode=True, default_flow_style=None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that both files are up to date")
    args = parser.parse_args(argv)
    logging.getLogger("psbridge").setLevel(logging.ERROR)  # the simulated throttling warnings are expected
    with tempfile.TemporaryDirectory() as workdir:
        text = source(run_scenarios(Path(workdir)))
    recording = synthetic.author(synthetic.parse_source(text))
    if args.check:
        stale = [
            str(path.relative_to(ROOT))
            for path, want in ((SOURCE, text), (RECORDING, recording.dumps()))
            if not path.is_file() or path.read_text(encoding="utf-8") != want
        ]
        if stale:
            print(f"make_rollout_scenario: out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    SOURCE.write_text(text, encoding="utf-8")
    recording.save(RECORDING)
    print(f"wrote {SOURCE.relative_to(ROOT)} and {RECORDING.relative_to(ROOT)} ({len(recording.episodes)} episodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
