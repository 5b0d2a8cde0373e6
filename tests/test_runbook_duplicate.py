"""`psbridge diagnose duplicate-mailbox` and `psbridge repair duplicate-mailbox`, from the CLI.

Recordings: the demo (Dana, an unclean MailUser with her mailbox on Exchange Server), and the scenarios under
recorded_sessions/runbooks/duplicate/ (Nestor Wilke: a full repair; a repair whose wait times out at step 3;
the same repair resumed). Variants are built here from the same sources, with some episodes replaced. What
the replay servers received is read from the servers themselves, so "nothing was changed" is checked on the
wire, not taken from the report.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, REPO

from psbridge import InputError
from psbridge.cli.rb_duplicate import default_journal
from psbridge.config import TargetMissingError
from psbridge.replay.server import ReplayServer
from psbridge.replay.synthetic import author
from psbridge.replay.transport import recorded_session
from psbridge.runbooks.duplicate import STEPS, RepairJournal, repair_duplicate_mailbox
from psbridge.targets import Targets

SCENARIOS = REPO / "recorded_sessions/runbooks/duplicate"
SOURCES = REPO / "recorded_sessions/sources"
ROLES = ("exchange", "exo", "dc", "connect")
NESTOR, GROUP = "nestor@contoso.example", "Licensing-M365-E3"
REPAIR = ("repair", "duplicate-mailbox", NESTOR, "--license-group", GROUP)
CHANGES = ("Remove-ADGroupMember", "Add-ADGroupMember", "Set-User", "adsync/Start-SyncCycle.ps1")
STEP_IDS = [s.id for s in STEPS]


def load(path: str) -> dict[str, Any]:
    return yaml.safe_load((SOURCES / path).read_text(encoding="utf-8"))


def source(scenario: str, role: str) -> dict[str, Any]:
    return load(f"runbooks/duplicate/{scenario}/{role}.yaml")


EXO, DC = source("repair", "exo"), source("repair", "dc")


def first(episodes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A copy of the first episode whose command (or, for the Exchange script, its -Command) is `name`."""
    for episode in episodes:
        params = {p["name"]: p.get("value") for p in episode.get("parameters", [])}
        if name in (episode.get("command"), params.get("Command")):
            return copy.deepcopy(episode)
    raise LookupError(name)


def get_user(row: str) -> dict[str, Any]:
    """Exchange Online's Get-User of Nestor, answering one of the scenario's rows (duplicate, unclean, clean)."""
    episode = first(EXO["episodes"], "Get-User")
    episode["output"] = [EXO["x-rows"][row]]
    return episode


def ad_user(row: str) -> dict[str, Any]:
    """Get-ADUser of Nestor, a `member` of the licensing group or `not_member`."""
    episode = first(DC["episodes"], "Get-ADUser")
    episode["output"] = [DC["x-rows"][row]]
    return episode


def not_found(case: str, name: str, identity: str) -> dict[str, Any]:
    """The not-found error of `name` from recorded_sessions/sources/cases/<case>.yaml, for `identity`."""
    text = json.dumps(first(load(f"cases/{case}.yaml")["episodes"], name))
    return json.loads(text.replace("nobody@contoso.example", identity))


def gone(identity: str) -> list[dict[str, Any]]:
    """Exchange Server knows no mailbox and no remote mailbox of `identity`."""
    mailbox = not_found("exchange-not-found", "Get-Mailbox", identity)
    remote = json.loads(
        json.dumps(mailbox).replace("GetMailbox", "GetRemoteMailbox").replace("Get-Mailbox", "Get-RemoteMailbox")
    )
    return [mailbox, remote]


def build(directory: Path, base: str, **episodes: list[dict[str, Any]]) -> Path:
    """A recordings directory: scenario `base`, with the episodes of the roles given replaced."""
    directory.mkdir()
    for role in ROLES:
        spec = source(base, role)
        spec["episodes"] = episodes.get(role, spec["episodes"])
        author(spec).save(directory / f"{role}.yaml")
    return directory


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> list[ReplayServer]:
    """Every replay server a run creates, to read what each received."""
    made: list[ReplayServer] = []
    real = ReplayServer.from_cassettes.__func__  # type: ignore[attr-defined]

    def spy(cls: type[ReplayServer], cassettes: Any, **kwargs: Any) -> ReplayServer:
        server: ReplayServer = real(cls, cassettes, **kwargs)
        made.append(server)
        return server

    monkeypatch.setattr(ReplayServer, "from_cassettes", classmethod(spy))
    return made


def sent(servers: list[ReplayServer]) -> list[str]:
    """What the servers received: cmdlets and scripts by name, Exchange's script by the cmdlet it runs."""
    out = []
    for statement in (s for server in servers for key in server.keys_seen for s in key.statements):
        command = {p.name: p.value for p in statement.params}.get("Command")
        out.append(str(command) if statement.command == "exchange/Invoke-ExchangeCommand.ps1" else statement.command)
    return out


def changes(servers: list[ReplayServer]) -> dict[str, int]:
    """How many of each changing command the servers received."""
    received = sent(servers)
    return {name: received.count(name) for name in CHANGES}


def checks(result: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result.json()["checks"]}


def events(path: Path) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["kind"] == "header" and (lines[0]["user"], lines[0]["license_group"]) == (NESTOR, GROUP)
    return [(line["step"], line["event"]) for line in lines[1:]]


def write_journal(path: Path, *steps: tuple[str, str]) -> Path:
    with RepairJournal.open(path, user=NESTOR, group=GROUP, steps=STEP_IDS) as book:
        for step, event in steps:
            book.record(step, event, summary="an earlier run")
    return path


# -- diagnose -----------------------------------------------------------------------------------------------------


def test_diagnose_the_demo_user_dana_an_unclean_mail_user(cli: Any) -> None:
    document = cli("--replay", DEMO, "-o", "json", "diagnose", "duplicate-mailbox", "dana@contoso.example")
    table = cli("--replay", DEMO, "diagnose", "duplicate-mailbox", "dana@contoso.example")
    assert document.code == table.code == 1
    found = checks(document)
    status = {name: check["status"] for name, check in found.items()}
    assert status == {"on-premises-mailbox": "pass", "exchange-online-recipient": "pass", "duplicate": "pass",
                      "exchange-guid": "skip", "previous-mailbox-info": "fail"}  # fmt: skip
    dana = first(load("demo/exchange.yaml")["episodes"], "Get-Mailbox")["output"][0]["properties"]
    assert found["on-premises-mailbox"]["evidence"]["exchange_guid"] == dana["ExchangeGuid"]["G"]
    unclean = found["previous-mailbox-info"]
    assert unclean["evidence"]["previous_recipient_type_details"] == "UserMailbox"
    assert any("provisions a new cloud mailbox" in c for c in unclean["evidence"]["consequences"])
    assert unclean["fix"].startswith("psbridge repair duplicate-mailbox dana@contoso.example --license-group")
    assert table.out.splitlines()[0] == "duplicate-mailbox (dana@contoso.example): FAIL"
    assert any(line.startswith("  FAIL  previous-mailbox-info:") for line in table.out.splitlines())


def test_diagnose_a_duplicate_explains_the_symptoms(cli: Any) -> None:
    result = cli("--replay", SCENARIOS / "repair", "-o", "json", "diagnose", "duplicate-mailbox", NESTOR)
    assert result.code == 1
    found = checks(result)
    assert found["duplicate"]["status"] == "fail"
    symptoms = " ".join(found["duplicate"]["evidence"]["symptoms"])
    assert "mail split between the two mailboxes" in symptoms and "Teams" in symptoms
    guids = found["exchange-guid"]
    here = first(source("repair", "exchange")["episodes"], "Get-Mailbox")["output"][0]["properties"]["ExchangeGuid"]
    assert guids["status"] == "fail"
    there = EXO["x-rows"]["mailbox"]["properties"]["ExchangeGuid"]
    assert guids["evidence"] == {"on_premises": here["G"], "exchange_online": there}
    assert found["previous-mailbox-info"]["status"] == "pass"


def adele(tmp_path: Path, remote_guid: str) -> Path:
    """Adele Vance of the demo: a remote mailbox on Exchange Server, a mailbox in Exchange Online."""
    demo_exo, demo_exchange = load("demo/exo.yaml"), load("demo/exchange.yaml")
    remote = first(demo_exchange["episodes"], "Get-RemoteMailbox")
    remote["output"][0]["properties"]["ExchangeGuid"] = {"G": remote_guid}
    user = copy.deepcopy(EXO["x-rows"]["duplicate"])
    user["properties"].update(Identity="Adele Vance", Name="Adele Vance", DisplayName="Adele Vance",
                              UserPrincipalName="adele@contoso.example")  # fmt: skip
    online = first(EXO["episodes"], "Get-User")
    online["parameters"][1]["value"] = {"Identity": "adele@contoso.example"}
    online["output"] = [user]
    mailbox = first(demo_exo["episodes"], "Get-Mailbox")
    mailbox["parameters"] = [{"name": "Command", "value": "Get-Mailbox"}, online["parameters"][1]]
    mailbox["output"] = [demo_exo["x-rows"]["adele"]]
    missing = not_found("exchange-not-found", "Get-Mailbox", "adele@contoso.example")
    return build(tmp_path / "rec", "repair", exchange=[missing, remote], exo=[online, mailbox])


def test_diagnose_one_mailbox_in_exchange_online_passes(cli: Any, tmp_path: Path) -> None:
    guid = load("demo/exo.yaml")["x-rows"]["adele"]["properties"]["ExchangeGuid"]
    result = cli(
        "--replay", adele(tmp_path, guid), "-o", "json", "diagnose", "duplicate-mailbox", "adele@contoso.example"
    )
    assert result.code == 0, result.out
    found = checks(result)
    assert {c["status"] for c in found.values()} == {"pass"}
    assert found["on-premises-mailbox"]["evidence"]["recipient_type_details"] == "RemoteUserMailbox"
    assert found["exchange-guid"]["evidence"] == {"on_premises": guid, "exchange_online": guid}


def test_diagnose_a_remote_mailbox_with_another_guid_says_how_to_align_it(cli: Any, tmp_path: Path) -> None:
    guid = load("demo/exo.yaml")["x-rows"]["adele"]["properties"]["ExchangeGuid"]
    other = "00000000-0000-4000-8000-000000000001"
    result = cli(
        "--replay", adele(tmp_path, other), "-o", "json", "diagnose", "duplicate-mailbox", "adele@contoso.example"
    )
    found = checks(result)
    assert result.code == 1 and found["duplicate"]["status"] == "pass"
    assert found["exchange-guid"]["status"] == "fail"
    assert (
        found["exchange-guid"]["fix"]
        == f"on Exchange Server: Set-RemoteMailbox adele@contoso.example -ExchangeGuid {guid}"
    )


def test_diagnose_previous_mailbox_info_without_a_mailbox_on_premises_warns(cli: Any, tmp_path: Path) -> None:
    directory = build(tmp_path / "rec", "repair", exchange=gone(NESTOR), exo=[get_user("unclean")])
    result = cli("--replay", directory, "-o", "json", "diagnose", "duplicate-mailbox", NESTOR)
    found = checks(result)
    assert result.code == 1
    assert found["on-premises-mailbox"]["summary"] == "no mailbox and no remote mailbox"
    assert (found["duplicate"]["status"], found["exchange-guid"]["status"]) == ("pass", "skip")
    assert found["previous-mailbox-info"]["status"] == "warn"
    assert "irreversible" in found["previous-mailbox-info"]["fix"]


def test_diagnose_a_user_exchange_online_does_not_know(cli: Any, tmp_path: Path) -> None:
    directory = build(tmp_path / "rec", "repair", exo=[not_found("exo-not-found", "Get-User", NESTOR)])
    result = cli("--replay", directory, "-o", "json", "diagnose", "duplicate-mailbox", NESTOR)
    found = checks(result)
    assert result.code == 1
    online = found["exchange-online-recipient"]
    assert (online["status"], online["summary"]) == ("fail", f"no user {NESTOR} in Exchange Online")
    assert online["evidence"]["error"] == "ObjectNotFoundError" and "synchronized" in online["fix"]
    assert [found[n]["status"] for n in ("duplicate", "exchange-guid", "previous-mailbox-info")] == ["skip"] * 3


def test_diagnose_a_side_that_answers_with_an_error_is_a_failing_check(cli: Any, tmp_path: Path) -> None:
    """Reached but not readable: a failing check naming the error (exit 1), not an unreachable target (exit 3)."""
    text = json.dumps(first(load("cases/exo-access-denied.yaml")["episodes"], "Get-Mailbox")["terminating_error"])
    denied = first(EXO["episodes"], "Get-User")
    denied.pop("output")
    denied["terminating_error"] = json.loads(text.replace("Get-Mailbox", "Get-User"))
    result = cli(
        "--replay",
        build(tmp_path / "rec", "repair", exo=[denied]),
        "-o",
        "json",
        "diagnose",
        "duplicate-mailbox",
        NESTOR,
    )
    found = checks(result)
    assert result.code == 1
    online = found["exchange-online-recipient"]
    assert (online["status"], online["summary"]) == ("fail", "Exchange Online was not read")
    assert "HttpStatusCode=401" in online["evidence"]["message"] and "sign-in" in online["fix"]
    assert found["on-premises-mailbox"]["status"] == "pass"
    assert [found[n]["status"] for n in ("duplicate", "exchange-guid", "previous-mailbox-info")] == ["skip"] * 3


# -- repair: the plan, the full path ----------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [["--dry-run"], []], ids=["dry-run", "neither"])
def test_without_yes_the_repair_only_reads_and_shows_the_plan(
    cli: Any, servers: list[ReplayServer], tmp_path: Path, flags: list[str]
) -> None:
    journal = tmp_path / "journal.jsonl"
    result = cli("--replay", SCENARIOS / "repair", "-o", "json", *REPAIR, "--journal", journal, *flags)
    if flags:
        assert result.code == 0, result.out
    else:  # off a terminal: the plan, then exit 2 asking for --yes
        result.refused_after_plan()
    found = checks(result)
    assert found["outcome"]["status"] == "pass" and "nothing was changed" in found["outcome"]["summary"]
    plan = [found[s.check_name] for s in STEPS]
    assert {c["status"] for c in plan} == {"skip"} and all(c["summary"].startswith("would ") for c in plan)
    assert "IRREVERSIBLE" in found["step-4-clear-previous-mailbox-info"]["summary"]
    assert changes(servers) == dict.fromkeys(CHANGES, 0)
    assert "adsync/Get-Scheduler.ps1" in sent(servers)  # what a start would do: read only
    assert not journal.exists()


@pytest.mark.slow
def test_the_full_repair_runs_every_step_once_and_journals_it(
    cli: Any, servers: list[ReplayServer], tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    config = REPO / "examples/demo.toml"  # the targets by host, with the Exchange Online sign-in
    result = cli("--config", config, "--replay", SCENARIOS / "repair", "-o", "json", *REPAIR, "--yes",
                 "--journal", journal, "--poll", "0.01")  # fmt: skip
    assert result.code == 0, result.out
    found = checks(result)
    assert [found[s.check_name]["status"] for s in STEPS] == ["pass"] * len(STEPS)
    assert found["step-3-wait-unlicensed"]["summary"].endswith("(read 2 times)")  # UserMailbox, then MailUser
    assert found["outcome"]["evidence"]["state"] == {
        "member_of_group": True, "exchange_online": "MailUser", "previous_recipient_type_details": None,
    }  # fmt: skip
    assert changes(servers) == {"Remove-ADGroupMember": 1, "Add-ADGroupMember": 1, "Set-User": 1,
                                "adsync/Start-SyncCycle.ps1": 3}  # fmt: skip
    assert events(journal) == [(step, event) for step in STEP_IDS for event in ("started", "done")]


# -- repair: a wait that times out, and resuming ------------------------------------------------------------------


def interrupted(cli: Any, journal: Path) -> Any:
    return cli("--replay", SCENARIOS / "interrupted", "-o", "json", *REPAIR, "--yes", "--journal", journal,
               "--deadline", "1", "--poll", "0.3")  # fmt: skip


@pytest.mark.slow
def test_a_wait_that_times_out_says_where_the_user_is_and_how_to_go_on(cli: Any, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    result = interrupted(cli, journal)
    assert result.code == 1
    found = checks(result)
    assert [found[s.check_name]["status"] for s in STEPS[:3]] == ["pass", "pass", "fail"]
    assert found["step-3-wait-unlicensed"]["summary"].startswith("timed out after 1s")
    assert {found[s.check_name]["status"] for s in STEPS[3:]} == {"skip"}
    outcome = found["outcome"]
    assert outcome["status"] == "fail"
    assert outcome["evidence"]["state"] == {
        "member_of_group": False, "exchange_online": "UserMailbox", "previous_recipient_type_details": None,
    }  # fmt: skip
    assert (outcome["evidence"]["steps_done"], outcome["evidence"]["resume_at"]) == (["1", "2"], "3")
    assert f"--journal {journal}" in outcome["fix"] and "resumes at step 3" in outcome["fix"]
    assert "Get-User nestor@contoso.example" in outcome["fix"]  # the step by hand
    assert events(journal)[-2:] == [("3", "started"), ("3", "failed")]


@pytest.mark.slow
def test_the_repair_resumes_at_the_step_that_timed_out(cli: Any, servers: list[ReplayServer], tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    assert interrupted(cli, journal).code == 1
    before = len(servers)
    result = cli(
        "--replay", SCENARIOS / "resumed", "-o", "json", *REPAIR, "--yes", "--journal", journal, "--poll", "0.01"
    )
    assert result.code == 0, result.out
    found = checks(result)
    assert found["journal"]["evidence"]["steps_done"] == ["1", "2"]
    assert all(found[s.check_name]["summary"].startswith("done earlier") for s in STEPS[:2])
    assert "failed" in found["step-3-wait-unlicensed"]["evidence"]["resumed"]
    assert found["outcome"]["summary"] == "repaired: every step done"
    assert changes(servers[before:]) == {"Remove-ADGroupMember": 0, "Add-ADGroupMember": 1, "Set-User": 1,
                                         "adsync/Start-SyncCycle.ps1": 2}  # fmt: skip


def test_a_clear_whose_outcome_is_unknown_is_verified_not_sent_again(
    cli: Any, servers: list[ReplayServer], tmp_path: Path
) -> None:
    """The run died after sending Set-User: the journal says step 4 started; Exchange Online shows it cleared."""
    journal = write_journal(
        tmp_path / "journal.jsonl", *[(s, e) for s in "123" for e in ("started", "done")], ("4", "started")
    )
    directory = build(tmp_path / "rec", "resumed", exo=[get_user("clean")] * 4)
    result = cli("--replay", directory, "-o", "json", *REPAIR, "--yes", "--journal", journal, "--poll", "0.01")
    assert result.code == 0, result.out
    step = checks(result)["step-4-clear-previous-mailbox-info"]
    assert step["summary"] == "no previous mailbox info (already cleared): nothing sent"
    assert "started" in step["evidence"]["resumed"]
    assert changes(servers)["Set-User"] == 0
    assert events(journal)[6:9] == [("4", "started"), ("4", "started"), ("4", "done")]


@pytest.mark.slow
def test_a_removal_whose_outcome_is_unknown_is_verified_not_sent_again(
    cli: Any, servers: list[ReplayServer], tmp_path: Path
) -> None:
    journal = write_journal(tmp_path / "journal.jsonl", ("1", "started"))
    group = first(DC["episodes"], "Get-ADGroup")
    directory = build(tmp_path / "rec", "interrupted", dc=[ad_user("not_member")] * 3 + [group] * 3)
    result = cli("--replay", directory, "-o", "json", *REPAIR, "--yes", "--journal", journal,
                 "--deadline", "1", "--poll", "0.3")  # fmt: skip
    step = checks(result)["step-1-remove-from-group"]
    assert (step["status"], step["summary"]) == ("pass", f"already out of {GROUP}: nothing sent")
    assert changes(servers)["Remove-ADGroupMember"] == 0
    assert result.code == 1 and checks(result)["outcome"]["evidence"]["resume_at"] == "3"  # then step 3 timed out


# -- repair: refusals -----------------------------------------------------------------------------------------------


def refused(cli: Any, servers: list[ReplayServer], directory: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Run the repair with --yes; it must refuse, and send nothing that changes anything."""
    result = cli(
        "--replay", directory, "-o", "json", *REPAIR, "--yes", "--journal", tmp_path / "j.jsonl", "--poll", "0.01"
    )
    found = checks(result)
    assert result.code == 1 and found["outcome"]["summary"] == "refused: nothing was changed"
    assert {found[s.check_name]["status"] for s in STEPS} == {"skip"}
    assert changes(servers) == dict.fromkeys(CHANGES, 0)
    return found


def test_the_repair_refuses_without_a_mailbox_on_exchange_server(
    cli: Any, servers: list[ReplayServer], tmp_path: Path
) -> None:
    found = refused(cli, servers, build(tmp_path / "rec", "repair", exchange=gone(NESTOR)), tmp_path)
    assert found["on-premises-mailbox"]["status"] == "fail"
    assert "no Exchange Server mailbox to keep" in found["on-premises-mailbox"]["summary"]


def test_the_repair_refuses_when_exchange_online_has_the_same_mailbox(
    cli: Any, servers: list[ReplayServer], tmp_path: Path
) -> None:
    exo = copy.deepcopy(source("repair", "exo")["episodes"])
    here = first(source("repair", "exchange")["episodes"], "Get-Mailbox")["output"][0]["properties"]["ExchangeGuid"]
    mailbox = first(exo, "Get-Mailbox")
    mailbox["output"][0]["properties"]["ExchangeGuid"] = here["G"]
    found = refused(cli, servers, build(tmp_path / "rec", "repair", exo=[first(exo, "Get-User"), mailbox]), tmp_path)
    assert "not a second mailbox" in found["exchange-online-recipient"]["summary"]


def test_the_repair_refuses_when_no_sync_cycle_can_start(cli: Any, servers: list[ReplayServer], tmp_path: Path) -> None:
    connect = source("repair", "connect")
    idle = copy.deepcopy(connect["episodes"][0])
    idle["output"][0]["properties"]["SyncCycleEnabled"] = False
    found = refused(cli, servers, build(tmp_path / "rec", "repair", connect=[idle]), tmp_path)
    assert found["sync-scheduler"]["summary"] == "no cycle can start: SyncCycleDisabled"
    assert "Set-ADSyncScheduler -SyncCycleEnabled $true" in found["sync-scheduler"]["fix"]


def test_a_user_already_repaired_needs_nothing(cli: Any, servers: list[ReplayServer], tmp_path: Path) -> None:
    directory = build(
        tmp_path / "rec",
        "repair",
        exo=[get_user("clean")],
        dc=[ad_user("member"), first(DC["episodes"], "Get-ADGroup")],
    )
    result = cli("--replay", directory, "-o", "json", *REPAIR, "--yes", "--journal", tmp_path / "j.jsonl")
    assert result.code == 0
    assert checks(result)["outcome"]["summary"].startswith("nothing to repair")
    assert changes(servers) == dict.fromkeys(CHANGES, 0)


# -- the journal, targets and input --------------------------------------------------------------------------------


def test_a_journal_of_another_repair_or_a_malformed_one_is_refused(cli: Any, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    with RepairJournal.open(other, user="dana@contoso.example", group=GROUP, steps=STEP_IDS):
        pass
    line = cli("--replay", SCENARIOS / "repair", *REPAIR, "--journal", other).one_line_error(2)
    assert "is the repair of dana@contoso.example" in line and "another journal" in line
    bad = tmp_path / "bad.jsonl"
    bad.write_text(other.read_text(encoding="utf-8").replace("dana@contoso.example", NESTOR) + "not json\n")
    line = cli("--replay", SCENARIOS / "repair", *REPAIR, "--yes", "--journal", bad).one_line_error(2)
    assert f"journal {bad} line 2 is malformed" in line
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, no newline")
    line = cli("--replay", SCENARIOS / "repair", *REPAIR, "--yes", "--journal", notes).one_line_error(2)
    assert "not a repair journal" in line and notes.read_text() == "my notes, no newline"


def test_a_torn_last_line_is_dropped_and_cut_off(tmp_path: Path) -> None:
    path = write_journal(tmp_path / "journal.jsonl", ("1", "started"), ("1", "done"))
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"kind":"step","step":"2","ev')  # killed while writing
    with RepairJournal.open(path, user=NESTOR, group=GROUP, steps=STEP_IDS) as book:
        assert book.done() == ["1"] and "2" not in book.steps
        book.record("2", "started")
    assert path.read_bytes().startswith(whole) and events(path)[-1] == ("2", "started")


def test_a_missing_target_is_exit_2_naming_its_role(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "not-used-nothing-connects")
    exo = (REPO / "examples/demo.toml").read_text(encoding="utf-8").split("[targets.exo]")[1].split("[targets.")[0]
    config = write_config("[targets.exo]" + exo)  # the demo's jump host, with its sign-in: nothing connects
    line = cli("--config", config, "diagnose", "duplicate-mailbox", NESTOR).one_line_error(2)
    assert "no target for role 'exchange'" in line
    line = cli("--config", config, *REPAIR).one_line_error(2)
    assert "no target for role 'dc'" in line and "[targets.dc]" in line


@pytest.mark.parametrize("command", [("diagnose", "duplicate-mailbox", NESTOR), REPAIR])
def test_an_unreachable_target_is_exit_3(cli: Any, tmp_path: Path, command: tuple[str, ...]) -> None:
    directory = build(tmp_path / "rec", "repair")
    refusing = author(source("repair", "exchange"))
    refusing.faults = {"faults": [{"fault": "http-401"}]}
    refusing.save(directory / "exchange.yaml")
    result = cli("--replay", directory, *command)
    assert result.code == 3 and "401" in result.err and result.out == ""


def test_the_library_needs_a_journal_to_run_and_positive_waits() -> None:
    sessions = {role: recorded_session(SCENARIOS / "repair") for role in ("dc", "connect", "exo")}
    exchange = recorded_session(SCENARIOS / "repair" / "exchange.yaml")
    with pytest.raises(InputError, match="needs a journal"):
        repair_duplicate_mailbox(
            Targets.of({**sessions, "exchange": exchange}), user=NESTOR, license_group=GROUP, dry_run=False
        )
    with pytest.raises(InputError, match="must be positive"):
        repair_duplicate_mailbox(Targets.of(sessions), user=NESTOR, license_group=GROUP, poll_s=0)
    with pytest.raises(TargetMissingError, match="no target for role 'exchange'"):
        repair_duplicate_mailbox(Targets.of(sessions), user=NESTOR, license_group=GROUP)


def test_the_default_journal_is_named_after_the_user() -> None:
    assert default_journal(" nestor@contoso.example ") == "psbridge-repair-nestor@contoso.example.jsonl"
    assert default_journal("CONTOSO\\nestor wilke") == "psbridge-repair-CONTOSO_nestor_wilke.jsonl"


@pytest.fixture(autouse=True)
def _no_journal_in_the_repository() -> Iterator[None]:
    """The CLI's default journal is written to the current directory, the repository under test."""
    yield
    assert not list(REPO.glob("psbridge-repair-*.jsonl"))
