"""The bulk rollout survives the network and the host misbehaving: exactly once, checked at the server.

The jump host is `simulated.ExchangeOnlineTenant` (tests/simulated.py) behind the loopback WSMan endpoint
(a real socket, pypsrp's real HTTP client): it keeps every mailbox's state and counts per mailbox the
Set-Mailbox calls and the batches that asked to switch it, so "nothing lost, nothing sent twice" is
checked on the server's side, and so is the report: every test checks that each mailbox the report
calls Changed got exactly one write at the server and every other none (`assert_report_matches`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import PASSWORD, cli_args, endpoint, session_for
from simulated import BATCH_SCRIPT, IDENTITIES_SCRIPT, ExchangeOnlineTenant, Mailbox

from psbridge import RetryPolicy
from psbridge.exchange import MailboxOutcome
from psbridge.exchange.rollout import item_retry, rollout_cloud_managed
from psbridge.replay.faults import FaultInjector, Rule

pytestmark = pytest.mark.slow  # 1,000 mailboxes over a loopback socket, under faults

MAILBOXES = 1000
PATIENT = RetryPolicy(attempts=8, total_s=60, initial_s=0.0, max_wait_s=0.01, jitter_s=0.0)
EXO = ["exo", "--organization", "contoso.onmicrosoft.com", "--app-id", "0f4c3c7e-5a2b-4d8e-9c61-2b7d4e8f1a93",
       "--certificate-thumbprint", "3C5F8A2B9D1E4F7A6B0C2D8E5F1A9B3C7D4E6F20"]  # fmt: skip


def identities(count: int = MAILBOXES) -> list[str]:
    return [f"user{n:04d}@contoso.example" for n in range(1, count + 1)]


def tenant(**kwargs: object) -> ExchangeOnlineTenant:
    """Every tenth mailbox is cloud-managed already; the rest need exactly one write each."""
    boxes = [Mailbox(ident, cloud_managed=n % 10 == 0) for n, ident in enumerate(identities(), start=1)]
    return ExchangeOnlineTenant(boxes, **kwargs)  # type: ignore[arg-type]


def assert_exactly_once(host: ExchangeOnlineTenant) -> None:
    """Every mailbox ends cloud-managed; each that was not got exactly one write, the others none; and no
    batch that writes was sent twice (each asked for a Set-Mailbox that the server then made)."""
    assert all(box.cloud_managed for box in host.mailboxes.values())
    for n, ident in enumerate(identities(), start=1):
        assert host.writes[ident] == (0 if n % 10 == 0 else 1), ident
    assert host.total_writes == MAILBOXES - MAILBOXES // 10
    assert host.write_requests == host.set_attempts, "a batch reached the server twice"


def assert_report_matches(host: ExchangeOnlineTenant, items: list[dict[str, object]]) -> None:
    """The report's outcome of every mailbox is what the server did: Changed is one write, AlreadySet none."""
    writes = {"Changed": 1, "AlreadySet": 0}
    wrong = {
        item["identity"]: (item["outcome"], host.writes[str(item["identity"]).casefold()])
        for item in items
        if writes.get(str(item["outcome"])) != host.writes[str(item["identity"]).casefold()]
    }
    assert not wrong, f"report vs writes at the server: {dict(list(wrong.items())[:5])} ({len(wrong)} in all)"


def test_1000_mailboxes_with_5pct_resets_and_10pct_transient_errors_are_each_set_exactly_once(tmp_path: Path) -> None:
    """1,000 mailboxes; a connection reset before the reply on 5% of all WSMan requests and a transient
    Set-Mailbox error on 10% of writes: every mailbox is processed, 900 writes, none twice. A second run
    with the same journal sends no batch at all."""
    host = tenant(transient_rate=0.10, seed=7)
    server = host.server()
    injector = FaultInjector([Rule("reset", rate=0.05)], seed=7)
    journal = tmp_path / "rollout.jsonl"
    with endpoint(injector.attach(server.handle, server)) as http, session_for(http.url, retry=PATIENT) as session:
        report = rollout_cloud_managed(
            session, identities=identities(), journal=journal, retry=item_retry(0.0, attempts=8), sleep=lambda _: None
        )
        resets = [i for i in injector.injected if i.fault == "reset"]
        # The faults really happened, at about the stated rates.
        assert 0.02 * injector.requests <= len(resets) <= 0.10 * injector.requests, (len(resets), injector.requests)
        assert 0.05 * host.set_calls <= host.transient_failures <= 0.15 * host.set_calls
        # Seed 7 resets a Command (refused: sent again), a Signal (after the output arrived) and the Receive
        # of a batch that had run: its mailboxes were switched, the reply lost, the batch sent again.
        assert {i.action for i in resets} == {"Command", "Receive", "Signal"}

        assert report.succeeded and report.total == MAILBOXES
        assert (report.failed, report.unfinished) == (0, 0)
        # The write whose reply was lost is read again, not sent again: its mailboxes are Changed.
        assert (report.changed, report.already_set) == (900, 100)
        assert report.retried > 0
        assert_exactly_once(host)
        assert_report_matches(host, [item.model_dump() for item in report.items])

        batches, requests = host.batches, dict(host.write_requests)
        again = rollout_cloud_managed(session, identities=identities(), journal=journal, sleep=lambda _: None)
    assert host.batches >= batches + 3 and host.write_requests == requests  # reads (of 400, resets resent), no write
    assert again.skipped == MAILBOXES and again.changed == 0 and again.reverted == 0
    assert {item.outcome for item in again.items} == {MailboxOutcome.CHANGED, MailboxOutcome.ALREADY_SET}
    assert_exactly_once(host)
    assert_report_matches(host, [item.model_dump() for item in again.items])


def _killer(host: ExchangeOnlineTenant, at_request: int, pid: Callable[[], int]) -> Callable[..., object]:
    """A request wrapper that SIGKILLs the client process when the server receives request `at_request`,
    before answering it (so a batch whose Command this is has run on the host and was never journaled)."""
    seen = 0
    killed = threading.Event()

    def wrap(handle: Callable[[bytes], tuple[int, bytes]]) -> Callable[[bytes], tuple[int, bytes]]:
        def handler(data: bytes) -> tuple[int, bytes]:
            nonlocal seen
            seen += 1
            if seen == at_request and not killed.is_set():
                reply = handle(data)
                os.kill(pid(), signal.SIGKILL)
                killed.set()
                return reply
            return handle(data)

        return handler

    wrap.killed = killed  # type: ignore[attr-defined]
    return wrap


def _rollout_process(url: str, ids: Path | None, journal: Path, *extra: str) -> subprocess.Popen[str]:
    given = ["--identities", str(ids)] if ids is not None else []
    args = [*cli_args(url), "-o", "json", *EXO, "rollout", *given, "--journal", str(journal), "--retry-wait", "0",
            "--yes", *extra]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PSBRIDGE_PASSWORD": PASSWORD},
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.subprocess
def test_sigkill_at_a_random_point_then_resume_sets_each_of_1000_mailboxes_exactly_once(
    tmp_path: Path, seed: int
) -> None:
    """Three seeds, three kill points (a random WSMan request among the first run's; the process is
    SIGKILLed as the server answers it). The re-run with the same journal completes: 1,000 processed,
    900 writes, none twice, and its report says of each mailbox what the server did."""
    host = tenant()
    server = host.server()
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(identities()) + "\n", encoding="utf-8")
    journal = tmp_path / "rollout.jsonl"
    # Five batches of 200 (a read, then five writes, each reading the next batch ahead): the writes are requests
    # 10 to 24 (Command, Receive, Signal each), the second from request 13 (sent once the first is journaled), the
    # last from 22: kill between.
    at_request = random.Random(seed).randrange(13, 22)
    proc: subprocess.Popen[str] | None = None
    wrap = _killer(host, at_request, lambda: proc.pid if proc else 0)
    with endpoint(wrap(server.handle)) as http:
        proc = _rollout_process(http.url, ids, journal)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err
        done_before = host.total_writes
        assert 0 < done_before < 900, done_before  # killed mid-rollout

        second = _rollout_process(http.url, ids, journal)
        out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    report = json.loads(out)
    assert report["succeeded"] and report["total"] == MAILBOXES
    assert report["skipped"] > 0  # the journal of the killed run was used
    assert_exactly_once(host)
    assert_report_matches(host, report["items"])


@pytest.mark.subprocess
def test_a_rerun_finds_mailboxes_switched_back_reports_them_reverted_and_exits_1(tmp_path: Path) -> None:
    """After a complete rollout, someone switches 20 mailboxes back. A re-run with the old journal reads what
    the journal says is switched: those 20 are Reverted (not switched again), and the run has not succeeded."""
    host = tenant()
    server = host.server()
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(identities()) + "\n", encoding="utf-8")
    journal = tmp_path / "rollout.jsonl"
    reverted = [ident for n, ident in enumerate(identities(), start=1) if n % 50 == 1]  # 20, all written once
    with endpoint(server.handle) as http:
        first = _rollout_process(http.url, ids, journal)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert_report_matches(host, json.loads(out)["items"])
        for ident in reverted:
            host.mailboxes[ident].cloud_managed = False
        again = _rollout_process(http.url, ids, journal)
        out, err = again.communicate(timeout=120)
    assert again.returncode == 1, err
    report = json.loads(out)
    assert (report["succeeded"], report["reverted"], report["changed"]) == (False, 20, 0)
    assert sorted(i["identity"] for i in report["items"] if i["outcome"] == "Reverted") == sorted(reverted)
    assert not any(host.mailboxes[ident].cloud_managed for ident in reverted)  # not switched again
    assert all(host.writes[ident] == 1 for ident in reverted)
    others = [i for i in report["items"] if i["outcome"] != "Reverted"]
    assert_report_matches(host, others)


@pytest.mark.subprocess
def test_a_killed_filter_rollout_resumed_accounts_for_every_mailbox_either_run_touched(tmp_path: Path) -> None:
    """The filter selects the mailboxes not yet cloud-managed, so its matches shrink as the rollout goes. The
    first run is SIGKILLed while the server runs its third write (switched, never journaled, never answered).
    The resumed run's filter no longer selects anything the first run switched; its report still covers all
    900 mailboxes, the killed batch's as Changed, each written exactly once."""
    host = tenant()
    host.handlers[IDENTITIES_SCRIPT.lower()] = lambda _: {  # one JSON page
        "output": [json.dumps([box.identity for box in host.mailboxes.values() if not box.cloud_managed])]
    }
    real = host.handlers[BATCH_SCRIPT.lower()]
    writes = 0
    proc: subprocess.Popen[str] | None = None

    def kill_at_third_write(params: Any) -> Any:
        nonlocal writes
        spec = real(params)
        if not params.get("DryRun"):
            writes += 1
            if writes == 3 and proc is not None:
                os.kill(proc.pid, signal.SIGKILL)  # the batch ran; its answer goes nowhere
        return spec

    host.handlers[BATCH_SCRIPT.lower()] = kill_at_third_write
    server = host.server()
    journal = tmp_path / "rollout.jsonl"
    selects = ["--filter", "IsExchangeCloudManaged -eq $false"]
    to_switch = {ident for n, ident in enumerate(identities(), start=1) if n % 10}
    with endpoint(server.handle) as http:
        proc = _rollout_process(http.url, None, journal, *selects)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err
        assert host.total_writes == 600  # three writes of 200: the filter selects only mailboxes to switch
        host.handlers[BATCH_SCRIPT.lower()] = real
        resumed = _rollout_process(http.url, None, journal, *selects)
        out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    report = json.loads(out)
    assert {i["identity"] for i in report["items"]} == to_switch and report["total"] == 900
    assert {i["outcome"] for i in report["items"]} == {"Changed"}
    assert_exactly_once(host)
    assert_report_matches(host, report["items"])
