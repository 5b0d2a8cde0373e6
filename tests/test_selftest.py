"""`psbridge selftest`: every read-only wrapper run against a target, each model validated, one report.

On the demo (`--replay recorded_sessions/demo`), on recordings authored here with a shape a model does
not read, on a target that cannot be reached, and recording a live (loopback) target with `--record`.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, REPO, cassette
from loopback import PASSWORD, endpoint, port_of

import psbridge
from psbridge import selftest
from psbridge.replay import http
from psbridge.replay.cassette import Cassette
from psbridge.result import PSObjectData

SENTINEL = "Sentinel-Value-7f3a9"
LIVE_USER = "svc-selftest"


def _rows(result: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = result.json()["checks"]
    return rows


# -- the plan ------------------------------------------------------------------------------------------


def _public_wrappers() -> set[str]:
    """Every public wrapper: the functions of each product's `functions` and `bulk` modules, and the Graph
    backend's functions that take a GraphClient first (as tests/test_contract.py finds them)."""
    found = set()
    for info in pkgutil.iter_modules(psbridge.__path__):
        for name in ("functions", "bulk"):
            try:
                module = importlib.import_module(f"psbridge.{info.name}.{name}")
            except ModuleNotFoundError:
                continue
            found |= {
                f"{module.__name__}.{n}"
                for n, fn in vars(module).items()
                if inspect.isfunction(fn) and not n.startswith("_") and fn.__module__ == module.__name__
            }
    graph = importlib.import_module("psbridge.cloudsync.graph")
    for n, fn in vars(graph).items():
        params = list(inspect.signature(fn).parameters.values()) if inspect.isfunction(fn) else []
        if params and params[0].name == "client" and fn.__module__ == graph.__name__ and not n.startswith("_"):
            found.add(f"{graph.__name__}.{n}")
    return found


def test_every_public_wrapper_is_run_or_excluded_with_a_reason() -> None:
    planned = {step.wrapper for step in selftest.STEPS}
    wrappers = _public_wrappers()
    assert "psbridge.exchange.functions.get_mailbox" in wrappers and "psbridge.cloudsync.graph.get_job" in wrappers
    assert not planned & set(selftest.EXCLUDED), "a wrapper is both run and excluded"
    assert sorted(wrappers - planned - set(selftest.EXCLUDED)) == [], "wrappers neither run nor excluded"
    assert sorted((planned | set(selftest.EXCLUDED)) - wrappers) == [], "rows naming no public wrapper"


@pytest.mark.parametrize("step", selftest.STEPS, ids=lambda s: f"{s.role}:{s.name}")
def test_each_row_can_call_its_wrapper(step: selftest.Step) -> None:
    module, _, name = step.wrapper.rpartition(".")
    function = getattr(importlib.import_module(module), name)
    params = list(inspect.signature(function).parameters.values())[1:]
    required = {p.name for p in params if p.default is inspect.Parameter.empty}
    given = set(step.args) | set(step.needs)
    assert required <= given, f"{step.wrapper} needs {sorted(required - given)}"
    assert given <= {p.name for p in params}, f"{step.wrapper} takes no {sorted(given - {p.name for p in params})}"
    assert set(step.needs.values()) | set(step.finds) <= set(selftest.FOUND)
    assert step.role in selftest.ORDER


def test_recorded_roles_of_the_demo() -> None:
    assert selftest.recorded_roles(DEMO) == ["connect", "cloudsync-agent", "exo", "exchange", "dc"]
    assert selftest.recorded_roles(DEMO / "adsync.yaml") == ["connect"]
    assert selftest.recorded_roles(DEMO / "exchange.yaml") == ["exchange"]


# -- the demo --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_report() -> dict[str, Any]:
    from psbridge.cli.main import main

    with pytest.MonkeyPatch.context() as mp:
        out: list[str] = []
        mp.setattr("click.echo", lambda message=None, **kw: out.append(str(message)))
        code = main(["--replay", str(DEMO), "-o", "json", "selftest"])
    return {"code": code, "report": json.loads("\n".join(out))}


def test_demo_reports_every_row_of_every_role_it_has(demo_report: dict[str, Any]) -> None:
    report = demo_report["report"]
    roles = ["connect", "cloudsync-agent", "graph", "exo", "exo-rest", "exchange", "dc"]
    want = [(s.role, s.name) for role in roles for s in selftest.STEPS if s.role == role]
    assert [(r["target"], r["name"]) for r in report["checks"]] == want
    assert report["runbook"] == "selftest" and report["unreachable"] == []


def test_demo_rows_pass_unless_not_applicable(demo_report: dict[str, Any]) -> None:
    rows = demo_report["report"]["checks"]
    # Connect Sync and Cloud Sync (both backends) need nothing the demo lacks: every row passes.
    whole = [r for r in rows if r["target"] in ("connect", "cloudsync-agent", "graph")]
    assert len(whole) > 25 and {r["status"] for r in whole} == {"pass"}, [r for r in whole if r["status"] != "pass"]
    skipped = {r["name"]: r["summary"] for r in rows if r["status"] == "skip"}
    assert all(summary.startswith("not applicable: needs ") for summary in skipped.values()), skipped
    # Exchange Server recipients have no listing read to find one from; the demo user is in a container.
    assert set(skipped) == {"exchange.get_server_mailbox", "exchange.get_server_mail_user",
                            "ad.get_organizational_unit"}  # fmt: skip


def test_demo_passes_every_row_it_can_run(demo_report: dict[str, Any]) -> None:
    assert demo_report["code"] == 0
    assert {r["status"] for r in demo_report["report"]["checks"]} <= {"pass", "skip"}
    names = {r["name"] for r in demo_report["report"]["checks"] if r["status"] == "pass"}
    assert {"ad.get_ad_group", "ad.is_group_member", "exchange.get_user"} <= names


def test_graph_alone_on_the_demo(cli: Any) -> None:
    result = cli("--replay", DEMO, "-o", "json", "selftest", "--target", "graph")
    assert result.code == 0, result
    rows = _rows(result)
    assert [r["name"] for r in rows] == [s.name for s in selftest.STEPS if s.role == "graph"]
    assert {r["status"] for r in rows} == {"pass"}
    assert {r["target"] for r in rows} == {"graph"}


@pytest.mark.slow
def test_table_output_and_exit_code(cli: Any) -> None:
    result = cli("--replay", DEMO, "selftest", "--target", "connect")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == "selftest: PASS"
    assert "  PASS  adsync.get_scheduler [connect]: returned Scheduler" in lines
    assert len(lines) == 1 + sum(s.role == "connect" for s in selftest.STEPS)


def test_a_row_without_the_value_it_needs_is_not_applicable(cli: Any) -> None:
    result = cli("--replay", DEMO, "-o", "json", "selftest", "--target", "dc")
    assert result.code == 0, result
    rows = {r["name"]: r for r in _rows(result)}
    assert rows["targets.probe"]["status"] == "pass"
    user = rows["ad.get_ad_user"]
    assert user["status"] == "skip"
    assert user["summary"].startswith("not applicable: needs a directory-synced mailbox's UPN")
    assert "exo target" in user["summary"]
    assert rows["ad.get_ad_group"]["summary"].startswith("not applicable: needs a group the user is a direct member")


def test_exchange_server_reads_with_nothing_to_list_are_not_applicable(demo_report: dict[str, Any]) -> None:
    rows = {(r["target"], r["name"]): r for r in demo_report["report"]["checks"]}
    row = rows[("exchange", "exchange.get_server_mailbox")]
    assert (row["status"], row["summary"]) == (
        "skip",
        "not applicable: needs a mailbox on Exchange Server: psbridge has no read that lists them",
    )
    assert rows[("exchange", "exchange.get_server_remote_mailbox")]["status"] == "pass"  # adele, found on exo


# -- a shape no model reads ------------------------------------------------------------------------------


def _bad_scheduler(tmp_path: Path) -> Path:
    """A Connect server whose scheduler sends AllowedSyncCycleInterval as a string no TimeSpan reads."""
    specs = [
        {"command": "Select-Object", "output": []},
        {
            "script": "adsync/Get-Scheduler.ps1",
            "output": [
                {
                    "type_names": ["System.Management.Automation.PSCustomObject", "System.Object"],
                    "properties": {
                        "AllowedSyncCycleInterval": SENTINEL,
                        "CurrentlyEffectiveSyncCycleInterval": {"TS": "00:30:00"},
                        "SyncCycleEnabled": True,
                        "MaintenanceEnabled": True,
                        "StagingModeEnabled": False,
                        "NextSyncCycleStartTimeInUTC": {"DT": "2026-11-25T12:30:00Z"},
                        "Note": {"I32": 7},
                    },
                }
            ],
        },
    ]
    path = tmp_path / "rec" / "connect.yaml"
    path.parent.mkdir()
    cassette(specs).save(path)
    return path.parent


def test_output_that_does_not_validate_fails_with_its_shape_and_no_value(cli: Any, tmp_path: Path) -> None:
    recordings = _bad_scheduler(tmp_path)

    result = cli("--replay", recordings, "-o", "json", "selftest", "--target", "connect")

    assert result.code == 1, result
    rows = {r["name"]: r for r in _rows(result)}
    row = rows["adsync.get_scheduler"]
    assert (row["status"], row["summary"]) == ("fail", "the output did not validate")
    evidence = row["evidence"]
    assert (evidence["error"], evidence["model"], evidence["location"]) == (
        "UnexpectedOutputError",
        "Scheduler",
        "AllowedSyncCycleInterval",
    )
    assert evidence["shape"]["type_names"] == ["System.Management.Automation.PSCustomObject", "System.Object"]
    properties = evidence["shape"]["properties"]
    assert properties["AllowedSyncCycleInterval"] == "str"
    assert properties["Note"] == "int"
    assert properties["SyncCycleEnabled"] == "bool"
    assert properties["NextSyncCycleStartTimeInUTC"] not in ("str", "null")  # a DateTime, by its type
    assert "selftest --record" in row["fix"]
    assert rows["targets.probe"]["status"] == "pass"
    assert rows["adsync.get_version"]["evidence"] == {"error": "ReplayMissError"}  # not in this recording
    table = cli("--replay", recordings, "selftest", "--target", "connect")
    assert table.code == 1
    assert "FAIL  adsync.get_scheduler [connect]: the output did not validate" in table.out
    assert "AllowedSyncCycleInterval" in table.out
    assert SENTINEL not in result.out + result.err + table.out + table.err


def test_shape_names_kinds_never_values() -> None:
    raw = PSObjectData(
        type_names=("Microsoft.Exchange.Data.Directory.Management.Mailbox", "System.Object"),
        properties={
            "EmailAddresses": [SENTINEL, "smtp:b@x.example"],
            "Manager": PSObjectData(
                ("Microsoft.Exchange.Data.Directory.ADObjectId", "System.Object"), {"Name": SENTINEL}
            ),
            "Hidden": None,
            "Count": 3,
            "Settings": {"Key": SENTINEL},
        },
        to_string=SENTINEL,
    )
    error = psbridge.UnexpectedOutputError(
        f"Get-Mailbox returned an object Mailbox cannot read (Count: value is not {SENTINEL})", raw=raw,
        model="Mailbox", location="Count", reason=f"value is not {SENTINEL}",
    )  # fmt: skip
    evidence = selftest.unexpected_output(error)
    assert evidence["shape"] == {
        "type_names": ["Microsoft.Exchange.Data.Directory.Management.Mailbox", "System.Object"],
        "properties": {
            "EmailAddresses": "list[str]",
            "Manager": "Microsoft.Exchange.Data.Directory.ADObjectId",
            "Hidden": "null",
            "Count": "int",
            "Settings": "object",
        },
    }
    assert (evidence["model"], evidence["location"], evidence["message"]) == (
        "Mailbox",
        "Count",
        "value is not <value>",
    )
    assert SENTINEL not in json.dumps(evidence)
    several = selftest.unexpected_output(psbridge.UnexpectedOutputError("two objects", raw=[raw, raw]))
    assert several["objects"] == 2 and len(several["shapes"]) == 2


# -- bad input, unreachable targets ------------------------------------------------------------------------


def test_a_missing_target_is_bad_input(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config('[targets.connect]\nhost = "connect01.contoso.example"\n')
    line = cli("--config", config, "selftest", "--target", "nope").one_line_error(2)
    assert "no target named 'nope'" in line
    assert "--replay" in cli("--replay", DEMO, "selftest", "--record", "out").one_line_error(2)
    assert "not --host" in cli("--host", "connect01.contoso.example", "selftest").one_line_error(2)


@pytest.mark.slow
def test_an_unreachable_target_exits_3_and_skips_the_rest_of_its_role(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(  # nothing listens on the discard port
        '[targets.connect]\nhost = "127.0.0.1"\nport = 9\nauth = "basic"\ntls = false\nencryption = "never"\n'
        'username = "ci"\n'
    )
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "not-used-7")
    result = cli("--config", config, "--timeout", "5", "-o", "json", "selftest")
    assert result.code == 3, result
    report = result.json()
    assert report["unreachable"] == ["connect"]
    probe, *rest = report["checks"]
    assert (probe["name"], probe["status"], probe["evidence"]) == ("targets.probe", "fail", {"error": "ConnectError"})
    assert rest and {r["status"] for r in rest} == {"skip"}
    assert {r["summary"] for r in rest} == {"not run: connect could not be reached"}


# -- --record ---------------------------------------------------------------------------------------------


@pytest.fixture
def live_demo() -> Iterator[str]:
    """The demo's recordings served as a live host on a loopback WinRM endpoint (Basic auth, plain HTTP)."""
    # Not the loopback's usual user `ci`: scrubbing replaces the user name wherever it appears, and "ci"
    # is inside words the recordings hold ("Principal").
    with endpoint(http.Endpoints(DEMO).handle, credentials=(LIVE_USER, PASSWORD)) as server:
        yield server.url


@pytest.mark.slow
def test_record_writes_scrubbed_recordings_that_replay(
    cli: Any, write_config: Callable[..., Path], live_demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        f'[targets.cloudsync-agent]\nhost = "127.0.0.1"\nport = {port_of(live_demo)}\nauth = "basic"\n'
        f'tls = false\nencryption = "never"\nusername = "{LIVE_USER}"\n'
    )
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    out = tmp_path / "contrib"

    recorded = cli("--config", config, "-o", "json", "selftest", "--target", "cloudsync-agent", "--record", out)

    assert recorded.code == 0, recorded
    assert {r["status"] for r in _rows(recorded)} == {"pass"}
    path = out / "cloudsync-agent.yaml"
    assert sorted(p.name for p in out.iterdir()) == ["cloudsync-agent.yaml"]
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["origin"] == "recorded"
    assert Cassette.load(path).origin == "recorded"
    assert PASSWORD not in text and "127.0.0.1" not in text and LIVE_USER not in text
    replayed = cli("--replay", out, "-o", "json", "selftest", "--target", "cloudsync-agent")
    assert replayed.code == 0, replayed
    assert [(r["name"], r["status"]) for r in _rows(replayed)] == [(r["name"], "pass") for r in _rows(recorded)]


def test_record_scrubs_the_organizations_domains(
    cli: Any, write_config: Callable[..., Path], live_demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accepted domains Exchange Online reports become domainN.example in every recorded message and key."""
    sign_in = yaml.safe_load((REPO / "recorded_sessions/sources/demo/exo.yaml").read_text(encoding="utf-8"))
    connect = next(e for e in sign_in["episodes"] if e.get("command") == "Connect-ExchangeOnline")
    values = {p["name"]: p["value"] for p in connect["parameters"]}
    config = write_config(
        f'[targets.exo]\nhost = "127.0.0.1"\nport = {port_of(live_demo)}\nauth = "basic"\ntls = false\n'
        f'encryption = "never"\nusername = "{LIVE_USER}"\norganization = "{values["Organization"]}"\n'
        f'app_id = "{values["AppId"]}"\ncertificate_thumbprint = "{values["CertificateThumbprint"]}"\n'
    )
    monkeypatch.setenv("PSBRIDGE_PASSWORD", PASSWORD)
    out = tmp_path / "contrib"

    recorded = cli("--config", config, "-o", "json", "selftest", "--target", "exo", "--record", out)

    rows = {r["name"]: r["status"] for r in _rows(recorded)}
    assert rows["exchange.get_accepted_domains"] == rows["exchange.list_mailboxes"] == "pass", recorded
    text = (out / "exo.yaml").read_text(encoding="utf-8")
    assert "contoso" not in text.lower()  # contoso.example, contoso.onmicrosoft.com, contoso.mail.onmicrosoft.com
    assert "@domain1.example" in text
    replayed = cli("--replay", out, "-o", "json", "selftest", "--target", "exo")
    assert {r["name"]: r["status"] for r in _rows(replayed)} == rows
