"""The bulk rollout survives the network and the host misbehaving: exactly once, checked at the server.

The jump host is `psbridge.replay.simulated.ExchangeOnlineTenant` behind the loopback WSMan endpoint
(a real socket, pypsrp's real HTTP client): it keeps every mailbox's state and counts each effective
Set-Mailbox per mailbox, so "nothing lost, nothing set twice" is checked on the server's side, not
from what the client believes.
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

import pytest
from loopback import PASSWORD, cli_args, endpoint, session_for

from psbridge import RetryPolicy
from psbridge.exchange import MailboxOutcome
from psbridge.exchange.rollout import item_retry, rollout_cloud_managed
from psbridge.replay.faults import FaultInjector, Rule
from psbridge.replay.simulated import ExchangeOnlineTenant, Mailbox

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
    """Every mailbox ends cloud-managed; each that was not got exactly one write, the others none."""
    assert all(box.cloud_managed for box in host.mailboxes.values())
    for n, ident in enumerate(identities(), start=1):
        assert host.writes[ident] == (0 if n % 10 == 0 else 1), ident
    assert host.total_writes == MAILBOXES - MAILBOXES // 10


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
        # The batch whose reply was lost finds its mailboxes switched on the second try: AlreadySet, from
        # the client's view. The server's count below is the truth.
        assert report.changed + report.already_set == MAILBOXES and report.already_set > 100
        assert report.retried > 0
        assert_exactly_once(host)

        batches = host.batches
        again = rollout_cloud_managed(session, identities=identities(), journal=journal, sleep=lambda _: None)
    assert host.batches == batches  # nothing sent
    assert again.skipped == MAILBOXES and again.changed == 0
    assert {item.outcome for item in again.items} == {MailboxOutcome.CHANGED, MailboxOutcome.ALREADY_SET}
    assert_exactly_once(host)


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


def _rollout_process(url: str, ids: Path, journal: Path) -> subprocess.Popen[str]:
    args = [*cli_args(url), "-o", "json", *EXO, "rollout", "--identities", str(ids), "--journal", str(journal),
            "--retry-wait", "0", "--yes"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PSBRIDGE_PASSWORD": PASSWORD},
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_then_resume_sets_each_of_1000_mailboxes_exactly_once(
    tmp_path: Path, seed: int
) -> None:
    """Three seeds, three kill points (a random WSMan request; the process is SIGKILLed as the server
    answers it): seed 1 at request 20, a batch's Receive (450 writes done, the last batch's never
    journaled); seeds 2 and 3 at requests 15 and 27, a batch's closing Signal (270 and 630 writes). The
    re-run with the same journal completes: 1,000 processed, 900 writes, none twice."""
    host = tenant()
    server = host.server()
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(identities()) + "\n", encoding="utf-8")
    journal = tmp_path / "rollout.jsonl"
    # Ten batches of 100 take about 45 requests after the pool opens: kill somewhere inside them.
    at_request = random.Random(seed).randrange(12, 45)
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
