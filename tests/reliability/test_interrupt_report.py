"""An interrupted rollout (Ctrl+C, or SIGTERM as cron, systemd and Ansible send it) prints the report so far,
the mailboxes it did not finish as Unfinished, exits 130 (143 for SIGTERM), and its journal finishes the rest.
An interrupted duplicate-mailbox repair prints its steps so far, from its journal.

In process, the jump host is the scenario's simulated tenant behind a MockTransport and the interruption is
raised from the progress callback after the first batch; in a separate process, a real SIGTERM arrives
while a batch runs on the loopback endpoint's simulated tenant (tests/simulated.py).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Result
from helpers import DEMO, REPO
from loopback import PASSWORD, cli_args, endpoint
from pytest_mock import MockerFixture
from rollout_scenario import Sleeps, scenario, tenant_session
from simulated import BATCH_SCRIPT, ExchangeOnlineTenant, Mailbox

from psbridge.cli.main import Terminated
from psbridge.exchange.rollout import RolloutReport, rollout_cloud_managed
from psbridge.runbooks.duplicate import STEPS, RepairJournal

IDS = [scenario.identity(n) for n in range(1, 13)]
BATCH = 5


def _stop_after_first_batch(signal_: type[BaseException]) -> Callable[[Any], None]:
    def on_progress(_: Any) -> None:
        raise signal_

    return on_progress


def test_the_library_hands_over_the_report_so_far_and_the_journal_finishes_the_rest(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    session, _ = tenant_session(scenario.Tenant(clean=True, count=12))
    stopped: list[RolloutReport] = []
    with pytest.raises(KeyboardInterrupt):
        rollout_cloud_managed(
            session, identities=IDS, journal=journal, batch_size=BATCH, sleep=Sleeps(),
            on_progress=_stop_after_first_batch(KeyboardInterrupt), on_interrupt=stopped.append,
        )  # fmt: skip

    (partial,) = stopped
    assert (partial.interrupted, partial.changed, partial.unfinished, partial.succeeded) == (True, 5, 7, False)
    assert [item.outcome for item in partial.items] == ["Changed"] * 5 + ["Unfinished"] * 7
    assert all("interrupted" in str(item.error_message) for item in partial.items[5:])
    again = rollout_cloud_managed(session, identities=IDS, journal=journal, batch_size=BATCH, sleep=Sleeps())
    assert (again.skipped, again.changed, again.succeeded, again.interrupted) == (5, 7, True, False)


# -- the command, in process -------------------------------------------------------------------------------------


@pytest.fixture
def jump_host(mocker: MockerFixture) -> Any:
    """The exo group's signed-in session: the simulated tenant, in process."""
    tenant = scenario.Tenant(clean=True, count=12)
    mocker.patch("psbridge.cli.exo_rollout.exo_backend", return_value=tenant_session(tenant)[0])
    return tenant


def _interrupt_progress(mocker: MockerFixture, signal_: type[BaseException]) -> None:
    """The command's progress callback raises `signal_` after the first batch, as Ctrl+C or SIGTERM would."""

    @contextlib.contextmanager
    def progress(_: int) -> Iterator[Callable[[Any], None]]:
        yield _stop_after_first_batch(signal_)

    mocker.patch("psbridge.cli.exo_rollout._progress", progress)


def rollout(cli: Any, tmp_path: Path, *args: str, extra: tuple[Any, ...] = ()) -> Result:
    """`psbridge [ARGS] exo rollout` of IDS with --yes (and EXTRA)."""
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(IDS) + "\n", encoding="utf-8")
    return cli("--replay", DEMO, *args, "exo", "rollout", "--identities", ids, "--journal", tmp_path / "j.jsonl",
               "--batch-size", str(BATCH), "--retry-wait", "0", "--yes", *extra)  # fmt: skip


@pytest.mark.parametrize(
    ("signal_", "code", "line"),
    [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupted_rollout_prints_the_report_so_far_then_exits_as_interrupted(
    cli: Any, tmp_path: Path, jump_host: Any, mocker: MockerFixture, signal_: type[BaseException], code: int,
    line: str,
) -> None:  # fmt: skip
    _interrupt_progress(mocker, signal_)
    result = rollout(cli, tmp_path, "-o", "json")
    mocker.stopall()
    mocker.patch("psbridge.cli.exo_rollout.exo_backend", return_value=tenant_session(jump_host)[0])
    again = rollout(cli, tmp_path, "-o", "json")

    assert result.code == code, result
    assert line in result.err and "Traceback" not in result.err
    report = result.json()  # one JSON document: the report so far
    assert (report["interrupted"], report["changed"], report["unfinished"], report["succeeded"]) == (True, 5, 7, False)
    assert [i["outcome"] for i in report["items"]] == ["Changed"] * 5 + ["Unfinished"] * 7
    assert again.code == 0, again  # the journal was left resumable
    assert (again.json()["skipped"], again.json()["changed"], again.json()["interrupted"]) == (5, 7, False)
    assert all(box.cloud_managed for box in jump_host.mailboxes.values())


def test_the_table_and_the_csv_report_say_which_mailboxes_are_unfinished(
    cli: Any, tmp_path: Path, jump_host: Any, mocker: MockerFixture
) -> None:
    _interrupt_progress(mocker, KeyboardInterrupt)
    table = tmp_path / "report.csv"
    result = rollout(cli, tmp_path, extra=("--csv", table))

    assert result.code == 130, result
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in result.out.splitlines())  # labels have spaces
    assert (rows["interrupted"], rows["unfinished"], rows["succeeded"]) == ("yes", "7", "no")
    assert rows[f"[Unfinished] {IDS[11]}"].startswith("the run was interrupted before this mailbox was finished")
    outcomes = [row["outcome"] for row in csv.DictReader(table.open(encoding="utf-8"))]
    assert outcomes == ["Changed"] * 5 + ["Unfinished"] * 7


def test_interrupted_before_the_first_batch_there_is_no_report(cli: Any, tmp_path: Path, mocker: MockerFixture) -> None:
    mocker.patch("psbridge.cli.exo_rollout.exo_backend", side_effect=KeyboardInterrupt)  # while signing in
    result = rollout(cli, tmp_path)

    assert (result.code, result.out) == (130, "")
    assert "interrupted" in result.err


# -- the duplicate-mailbox repair ---------------------------------------------------------------------------------

NESTOR, GROUP = "nestor@contoso.example", "Licensing-M365-E3"


@pytest.mark.parametrize(("signal_", "code"), [(KeyboardInterrupt, 130), (Terminated, 143)], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_repair_prints_its_steps_so_far_from_its_journal(
    cli: Any, tmp_path: Path, mocker: MockerFixture, signal_: type[BaseException], code: int
) -> None:
    """Interrupted in step 2's wait (the sync after the removal): step 1 done, step 2 in progress (its outcome
    unknown), the rest not run; the journal says so, and a re-run resumes at step 2."""
    journal = tmp_path / "journal.jsonl"
    mocker.patch("psbridge.runbooks.duplicate.repair.poll", side_effect=signal_)
    scenario_ = REPO / "recorded_sessions/runbooks/duplicate/repair"
    result = cli("--config", REPO / "examples/demo.toml", "--replay", scenario_, "-o", "json", "repair",
                 "duplicate-mailbox", NESTOR, "--license-group", GROUP, "--yes", "--journal", journal,
                 "--poll", "0.01")  # fmt: skip

    assert result.code == code, result
    checks = {check["name"]: check for check in result.json()["checks"]}
    assert [checks[step.check_name]["status"] for step in STEPS] == ["pass", "fail"] + ["skip"] * (len(STEPS) - 2)
    assert "outcome is unknown" in checks[STEPS[1].check_name]["summary"]
    assert checks["outcome"]["status"] == "fail" and f"--journal {journal} --yes resumes it" in checks["outcome"]["fix"]
    book = RepairJournal.read(journal, user=NESTOR, group=GROUP, steps=[step.id for step in STEPS])
    assert book is not None and book.done() == ["1"] and book.steps["2"]["event"] == "started"


# -- a real SIGTERM, in a separate process ------------------------------------------------------------------------

MAILBOXES = 300
EXO = ["exo", "--organization", "contoso.onmicrosoft.com", "--app-id", "0f4c3c7e-5a2b-4d8e-9c61-2b7d4e8f1a93",
       "--certificate-thumbprint", "3C5F8A2B9D1E4F7A6B0C2D8E5F1A9B3C7D4E6F20"]  # fmt: skip


def _process(url: str, ids: Path, journal: Path) -> subprocess.Popen[str]:
    args = [*cli_args(url), "-o", "json", *EXO, "rollout", "--identities", str(ids), "--journal", str(journal),
            "--batch-size", "50", "--retry-wait", "0", "--yes"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PSBRIDGE_PASSWORD": PASSWORD},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigterm_while_a_batch_runs_prints_the_report_so_far_exits_143_and_the_rerun_finishes(tmp_path: Path) -> None:
    """SIGTERM arrives while the third write runs on the host (it ran; its answer is still on its way): the
    process prints the report (two batches Changed, the rest Unfinished), exits 143, and a re-run with the
    journal reads the third batch's mailboxes (switched: Changed) and finishes, each written exactly once."""
    names = [f"user{n:04d}@contoso.example" for n in range(1, MAILBOXES + 1)]
    host = ExchangeOnlineTenant([Mailbox(name) for name in names])
    real = host.handlers[BATCH_SCRIPT.lower()]
    writes = 0
    proc: subprocess.Popen[str] | None = None

    def terminate_at_third_write(params: Any) -> Any:
        nonlocal writes
        spec = real(params)
        if not params.get("DryRun"):
            writes += 1
            if writes == 3 and proc is not None:
                os.kill(proc.pid, signal.SIGTERM)  # as cron or Ansible would, on their timeout
        return spec

    host.handlers[BATCH_SCRIPT.lower()] = terminate_at_third_write
    ids, journal = tmp_path / "ids.txt", tmp_path / "rollout.jsonl"
    ids.write_text("\n".join(names) + "\n", encoding="utf-8")
    with endpoint(host.server().handle) as http:
        proc = _process(http.url, ids, journal)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 143, err
        assert "terminated" in err, err
        report = json.loads(out)
        host.handlers[BATCH_SCRIPT.lower()] = real
        resumed = _process(http.url, ids, journal)
        out, err = resumed.communicate(timeout=120)

    assert (report["interrupted"], report["changed"], report["unfinished"]) == (True, 100, 200)
    assert {i["outcome"] for i in report["items"][100:]} == {"Unfinished"}
    assert resumed.returncode == 0, err
    again = json.loads(out)
    assert (again["skipped"], again["changed"], again["succeeded"]) == (100, 200, True)
    assert all(host.writes[name] == 1 for name in names) and host.write_requests == host.set_attempts
