"""One confirmation model for every command that changes something (psbridge.cli.confirm).

Every mutating command has `--dry-run` and `--yes`; no dry run reports `changed: true`; at a terminal
the plan comes first, then y/N, and nothing that changes anything is sent before the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from cli_helpers import Result, error_line
from cloudsync_data import HEALTHY, QUARANTINED, TENANT
from pytest_mock import MockerFixture

from psbridge.cli.main import cli as root

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "recorded_sessions" / "demo"
ADELE = "CN=Adele Vance,OU=Sales,DC=contoso,DC=example"

# Commands that write although nothing about their options says so: each must still have both flags.
KNOWN_WRITERS = {
    "adsync export-config",  # writes an export folder on the Connect server
    "cloudsync resume",
    "cloudsync install-prerequisites",
    "cloudsync export-logs",  # verbose trace (restarts the agent service) and a zip on the agent
    "cloudsync verbose-logs start",  # restarts the agent service
    "cloudsync verbose-logs stop",
    "cloudsync query",  # any method but GET
    "repair duplicate-mailbox",
    "migrate cloud-sync",
}
# Commands that look like writers but change nothing on any target, and why.
NOT_WRITERS = {
    "cloudsync set-tenant-id": "the module's tenant for this run's session only; nothing persists on the agent",
    "cloudsync connect": "signs in for this run's session only",
    "cloudsync remove-group-members": "never sends the module's function (it asks with Read-Host): says how instead",
}


def _walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _walk(command, path)
        else:
            yield " ".join(path), command


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}


def mutating_commands() -> dict[str, click.Command]:
    """Every command that changes something, found from the CLI itself: it has `--yes` or `--dry-run`,
    or is a known writer."""
    found = dict(_walk(root))
    assert set(KNOWN_WRITERS) | set(NOT_WRITERS) <= set(found), "a listed command no longer exists"
    return {
        path: command
        for path, command in found.items()
        if path in KNOWN_WRITERS or {"--yes", "--dry-run"} & _options(command)
    }


def test_every_mutating_command_has_both_dry_run_and_the_confirmation() -> None:
    commands = mutating_commands()
    missing = {path: sorted({"--yes", "--dry-run"} - _options(c)) for path, c in commands.items()}
    assert {path: flags for path, flags in missing.items() if flags} == {}
    assert not set(NOT_WRITERS) & set(commands), "a command listed as changing nothing has the flags"
    assert len(commands) >= 20  # the walk reached the nested groups


# The dry run of every mutating command on the demo. A command missing here fails the completeness test.
DRY_RUNS: dict[str, list[str]] = {
    "adsync set-scheduler": ["adsync", "set-scheduler", "--interval", "00:40:00", "--maintenance"],
    "adsync sync": ["adsync", "sync"],
    "adsync export-config": ["adsync", "export-config", "--path", "C:\\psbridge\\export"],
    "cloudsync restart": ["cloudsync", "restart", "--job-id", QUARANTINED],
    "cloudsync suspend": ["cloudsync", "suspend", "--job-id", HEALTHY],
    "cloudsync resume": ["cloudsync", "resume", "--job-id", QUARANTINED],
    "cloudsync set-schema": ["cloudsync", "set-schema", "--job-id", QUARANTINED, "--file", "SCHEMA"],
    "cloudsync disable-dirsync-deletion-prevention": [
        "cloudsync",
        "disable-dirsync-deletion-prevention",
        "--tenant-id",
        TENANT,
    ],
    "cloudsync repair-account": ["cloudsync", "repair-account"],
    "cloudsync query": [
        "cloudsync",
        "query",
        "--uri",
        "https://graph.microsoft.com/beta/users/x",
        "--method",
        "DELETE",
    ],
    "cloudsync export-logs": ["cloudsync", "export-logs"],
    "cloudsync install-prerequisites": ["cloudsync", "install-prerequisites"],
    "cloudsync verbose-logs start": ["cloudsync", "verbose-logs", "start"],
    "cloudsync verbose-logs stop": ["cloudsync", "verbose-logs", "stop"],
    "cloudsync provision-on-demand": [
        "cloudsync",
        "provision-on-demand",
        "--via",
        "graph",
        "--job-id",
        HEALTHY,
        "--dn",
        ADELE,
    ],
    "cloudsync deletion-threshold set": [
        "cloudsync",
        "deletion-threshold",
        "set",
        "--via",
        "graph",
        "--job-id",
        HEALTHY,
        "--disable",
    ],
    "exo cloud-managed set": ["exo", "cloud-managed", "set", "--identity", "alex@contoso.example", "--enable"],
    "exo org-default set": ["exo", "org-default", "set", "--enable"],
    "exo email-address add": [
        "exo",
        "email-address",
        "add",
        "--identity",
        "adele@contoso.example",
        "--address",
        "adele.vance@contoso.example",
    ],
    "exo email-address remove": [
        "exo",
        "email-address",
        "remove",
        "--identity",
        "adele@contoso.example",
        "--address",
        "old@contoso.example",
    ],
}
# Dry runs the demo answers with "nothing to do" (its only removable address is absent): would_change False.
NOTHING_TO_DO = {"exo email-address remove"}
# Mutating commands whose dry run the demo recordings cannot answer, and why (no recording to replay).
NO_DEMO_DRY_RUN = {
    "exo clear-previous-mailbox-info": "the demo has no mail user with previous mailbox info (refused, exit 2)",
    "exo rollout": "needs an identities file and a journal: its plan (no mailbox read) and the prompt are "
    "tests/test_rollout_plan.py's, its dry run tests/test_cli_rollout.py's",
    "repair duplicate-mailbox": "its recordings are a runbook scenario's: tests/test_runbook_duplicate.py",
    "migrate cloud-sync": "its recordings are runbook scenarios' (migration-*): tests/test_migrate_cloud_sync.py",
}


def test_the_dry_run_table_covers_every_mutating_command() -> None:
    assert set(DRY_RUNS) | set(NO_DEMO_DRY_RUN) == set(mutating_commands())


def _changed_anywhere(doc: Any) -> list[Any]:
    """Every `changed` that is True, however deep (a rollout's `changed` is a count, not a claim)."""
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k == "changed" and v is True] + [
            hit for v in doc.values() for hit in _changed_anywhere(v)
        ]
    if isinstance(doc, list):
        return [hit for v in doc for hit in _changed_anywhere(v)]
    return []


@pytest.mark.parametrize("path", sorted(DRY_RUNS))
def test_no_dry_run_reports_changed(cli: Any, path: str, tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text('{"synchronizationRules": []}', encoding="utf-8")
    args = [str(tmp_path / "schema.json") if a == "SCHEMA" else a for a in DRY_RUNS[path]]
    result: Result = cli("--replay", DEMO, "-o", "json", *args, "--dry-run")

    assert result.code in (0, 1), result  # 1: the plan says it would not happen (e.g. out of scope)
    doc = result.json()
    assert doc["dry_run"] is True
    assert _changed_anywhere(doc) == []
    assert (doc.get("would_change") is False) == (path in NOTHING_TO_DO), doc  # the others plan a change


# -- the prompt ----------------------------------------------------------------------------------------------


# A write: a non-idempotent command, or one whose cmdlet, module function or script has a verb that changes
# state (a desired-state Set-Mailbox is idempotent, and a write all the same).
_WRITE_VERB = re.compile(r"\b(Set|Start|Stop|Add|Remove|Clear|Enable|Disable|Restart|Suspend|Resume|Repair|Install"
                         r"|Export|New)-[A-Za-z]")  # fmt: skip


def _writes(spy: Any) -> list[str]:
    """The writes the transport (the seam every session call goes through) was given so far."""
    sent = [call.args[1] for call in spy.call_args_list]
    return [c.display() for c in sent if not c.idempotent or _WRITE_VERB.search(c.display())]


@pytest.fixture
def at_terminal(mocker: MockerFixture) -> Any:
    """A terminal that answers the prompt; records the writes already sent when the question is asked."""
    from psbridge.transport.psrp import PSRPTransport

    spy = mocker.spy(PSRPTransport, "invoke")
    mocker.patch("psbridge.cli.confirm.at_terminal", return_value=True)
    state: dict[str, Any] = {"answer": False, "asked": [], "spy": spy}

    def ask(text: str, **kwargs: Any) -> bool:
        state["asked"].append((text, kwargs, _writes(spy)))
        return bool(state["answer"])

    mocker.patch("psbridge.cli.confirm.click.confirm", side_effect=ask)
    return state


SET = ["exo", "cloud-managed", "set", "--identity", "alex@contoso.example", "--enable"]
SYNC = ["adsync", "sync"]


@pytest.mark.parametrize("command", [SET, SYNC], ids=" ".join)
def test_at_a_terminal_a_no_shows_the_plan_sends_nothing_and_exits_2(
    cli: Any, at_terminal: Any, command: list[str]
) -> None:
    result: Result = cli("--replay", DEMO, *command)

    ((text, kwargs, sent_before),) = at_terminal["asked"]
    assert (text, kwargs) == ("Proceed?", {"default": False, "err": True})
    assert sent_before == []  # the plan is a dry run: nothing written before the answer
    assert _writes(at_terminal["spy"]) == []
    assert result.code == 2 and result.out.strip(), result  # the plan, then the answer's exit code
    errors = [error_line(e, 2) for e in result.events if e["level"] == "error"]  # stderr is no terminal: JSON
    assert len(errors) == 1 and errors[0].endswith("not done (declined)"), result.err


def test_at_a_terminal_a_yes_does_it_after_the_plan(cli: Any, at_terminal: Any) -> None:
    # adsync sync: the demo recording answers the plan's read and then the start in one session.
    at_terminal["answer"] = True
    result: Result = cli("--replay", DEMO, *SYNC)

    assert result.code == 0, result
    ((_, _, sent_before),) = at_terminal["asked"]
    assert sent_before == [] and len(_writes(at_terminal["spy"])) == 1  # the one write, after the answer


def test_off_a_terminal_the_plan_then_exit_2_and_nothing_written(cli: Any, mocker: MockerFixture) -> None:
    from psbridge.transport.psrp import PSRPTransport

    spy = mocker.spy(PSRPTransport, "invoke")
    result: Result = cli("--replay", DEMO, *SET)

    assert "not done; pass --yes" in result.refused_after_plan()
    assert "is_exchange_cloud_managed  no -> yes" in result.out
    assert _writes(spy) == []


def test_a_plan_with_nothing_to_change_is_the_answer(cli: Any, at_terminal: Any) -> None:
    # The demo's healthy job is Active: resume would not be sent, so there is nothing to confirm.
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "resume", "--job-id", HEALTHY)

    assert result.code == 0, result
    assert at_terminal["asked"] == [] and _writes(at_terminal["spy"]) == []
    assert (result.json()["would_change"], result.json()["dry_run"]) == (False, True)


def test_query_get_needs_no_confirmation_and_its_dry_run_plans_no_change(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "query", "--uri",
                         "https://graph.microsoft.com/beta/users/x", "--dry-run")  # fmt: skip

    assert result.code == 0, result
    assert json.loads(result.out)["would_change"] is False
