"""`psbridge diagnose routing-domain` and `psbridge.runbooks.routing` (docs/exchange.md, Routing domain (HCW8001)).

The routing domain's pass, warn and fail; where the tenant name comes from; the directory-sync check's
pass, fail and "could not be checked" (no Graph), and its failure to read; the documented fix printed,
never sent. Then the CLI over the demo and the routing-ok / routing-missing scenarios, and exit codes.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from helpers import DEMO, REPO

from psbridge import InputError, Session
from psbridge.config import TargetMissingError
from psbridge.graph.auth import StaticTokenProvider
from psbridge.graph.client import GraphClient
from psbridge.replay.graph_http import GraphCassette, author_graph_cassette
from psbridge.runbooks import Report, Status
from psbridge.runbooks.routing import ENABLE_DIR_SYNC, diagnose_routing_domain, tenant_name
from psbridge.targets import Targets

SCENARIOS = REPO / "recorded_sessions" / "runbooks"
SOURCES = REPO / "recorded_sessions" / "sources"
RUNNER = "exchange/Invoke-ExchangeCommand.ps1"
TENANT_ID = "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"
PUBLIC = {"DomainName": "contoso.example", "DomainType": "Authoritative", "Default": True, "InitialDomain": False}
INITIAL = {"DomainName": "contoso.onmicrosoft.com", "DomainType": "Authoritative", "InitialDomain": True}
ROUTING = {"DomainName": "contoso.mail.onmicrosoft.com", "DomainType": "Authoritative", "InitialDomain": False}


def accepted(*rows: Mapping[str, Any]) -> dict[str, Any]:
    """EXO Get-AcceptedDomain through the runner, in the demo's shapes (demo/exo.yaml)."""
    return {
        "script": RUNNER,
        "parameters": [
            {"name": "Command", "value": "Get-AcceptedDomain"},
            {"name": "Arguments", "value": {"ResultSize": "Unlimited"}},
        ],
        "output": [{"properties": {"Name": r["DomainName"], **r}} for r in rows],
    }


def organization(identity: str) -> dict[str, Any]:
    output = [{"properties": {"Identity": identity, "BlockExchangeProvisioningFromOnPremEnabled": False}}]
    return {"script": RUNNER, "parameters": [{"name": "Command", "value": "Get-OrganizationConfig"}], "output": output}


def tenant_source(path: Path, **organization: Any) -> dict[str, Any]:
    """A Graph tenant cassette source, its organization's fields changed."""
    source: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    source["interactions"][0]["response"]["json"]["value"][0].update(organization)
    return source


SYNC_ON = SOURCES / "demo" / "graph" / "tenant.yaml"
SYNC_OFF = SOURCES / "runbooks" / "routing-missing" / "graph" / "tenant.yaml"


class MethodsSession(requests.Session):
    """A real requests.Session that remembers the method of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.methods.append(str(method))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[Callable[[Mapping[str, Any]], GraphClient]]:
    """Factory: a GraphClient replaying a cassette authored from the source (its requests are in `.methods`)."""
    with contextlib.ExitStack() as stack:

        def make(source: Mapping[str, Any]) -> GraphClient:
            path = tmp_path / f"graph-{len(list(tmp_path.glob('graph-*')))}.yaml"
            path.write_text(author_graph_cassette(source), encoding="utf-8")
            http = stack.enter_context(MethodsSession())
            return stack.enter_context(GraphClient(StaticTokenProvider(), session=http, transport=GraphCassette(path)))

        yield make


def methods(client: GraphClient) -> list[str]:
    return client._session.methods  # type: ignore[union-attr]


def never(*_: Any) -> GraphClient:
    raise AssertionError("Graph was opened although the routing domain is there")


@pytest.fixture
def diagnose(replay_session: Callable[..., Session]) -> Callable[..., tuple[Report, Session]]:
    def run(*episodes: dict[str, Any], **kwargs: Any) -> tuple[Report, Session]:
        exo = replay_session(list(episodes))
        graph = kwargs.pop("graph", None)
        return diagnose_routing_domain(Targets.of({"exo": exo}, graph=graph), **kwargs), exo

    return run


def sent(session: Session) -> list[str]:
    """The cmdlet of every call the replay server saw (the runner script's -Command)."""
    keys = session.transport.server.keys_seen  # type: ignore[attr-defined]
    return [str({p.name: p.value for p in k.statements[0].params}["Command"]) for k in keys]


# -- 1. the routing domain ---------------------------------------------------------------------------------


def test_the_routing_domain_passes_without_asking_graph(diagnose: Callable[..., tuple[Report, Session]]) -> None:
    report, _ = diagnose(accepted(PUBLIC, INITIAL, ROUTING), graph=never)

    assert (report.status, report.exit_code, report.subject) == (Status.PASS, 0, "contoso.onmicrosoft.com")
    check = report.check("routing-domain")
    assert check.status == Status.PASS and check.summary.startswith(
        "contoso.mail.onmicrosoft.com is an accepted domain"
    )
    assert check.evidence == {
        "tenant": "contoso", "tenant_from": "initial domain contoso.onmicrosoft.com",
        "expected": "contoso.mail.onmicrosoft.com",
        "accepted_domains": ["contoso.example", "contoso.onmicrosoft.com", "contoso.mail.onmicrosoft.com"],
        "routing_domains": ["contoso.mail.onmicrosoft.com"],
    }  # fmt: skip
    sync = report.check("directory-sync")
    assert (sync.status, sync.summary) == (Status.SKIP, "not checked: a routing domain is there")


def test_without_an_initial_domain_the_tenant_comes_from_the_organization(
    diagnose: Callable[..., tuple[Report, Session]],
) -> None:
    plain = {**INITIAL, "InitialDomain": None}  # the flag not reported
    report, exo = diagnose(accepted(PUBLIC, plain, ROUTING), organization("contoso.onmicrosoft.com"), graph=never)
    evidence = report.check("routing-domain").evidence
    assert (evidence["tenant"], evidence["tenant_from"]) == ("contoso", "organization contoso.onmicrosoft.com")
    assert sent(exo) == ["Get-AcceptedDomain", "Get-OrganizationConfig"]


def test_a_given_tenant_is_used_and_another_routing_domain_only_warns(
    diagnose: Callable[..., tuple[Report, Session]],
) -> None:
    report, exo = diagnose(accepted(PUBLIC, INITIAL, ROUTING), tenant="Fabrikam.onmicrosoft.com", graph=never)
    check = report.check("routing-domain")
    assert check.status == Status.WARN and report.exit_code == 1
    assert check.summary == (
        "fabrikam.mail.onmicrosoft.com is not an accepted domain, but contoso.mail.onmicrosoft.com is"
    )
    assert check.evidence["tenant_from"] == "given" and check.fix is not None and "--tenant" in check.fix
    assert sent(exo) == ["Get-AcceptedDomain"]


def test_an_unknown_tenant_accepts_any_routing_domain(diagnose: Callable[..., tuple[Report, Session]]) -> None:
    report, _ = diagnose(accepted(PUBLIC, ROUTING), organization("Contoso"), graph=never)
    check = report.check("routing-domain")
    assert (check.status, check.evidence["tenant"], check.evidence["expected"]) == (
        Status.PASS, None, "*.mail.onmicrosoft.com",
    )  # fmt: skip
    assert report.subject is None


@pytest.mark.parametrize("bad", ["", "a b", "contoso.example", "-contoso", "contoso.mail.onmicrosoft.com"])
def test_a_malformed_tenant_name_is_bad_input(bad: str) -> None:
    with pytest.raises(InputError, match="a tenant name is one DNS label"):
        tenant_name(bad)


def test_accepted_domains_that_cannot_be_read_fail_and_skip_the_sync_check(
    diagnose: Callable[..., tuple[Report, Session]],
) -> None:
    missing_cmdlet = {  # docs/exchange.md, Errors: the cmdlet is not imported or the role is missing (permanent)
        **accepted(),
        "output": [],
        "terminating_error": {
            "message": "The term 'Get-AcceptedDomain' is not recognized as the name of a cmdlet, function, script "
            "file, or operable program. Check the spelling of the name, or if a path was included, verify that the "
            "path is correct and try again.",
            "fully_qualified_error_id": "CommandNotFoundException", "category": "ObjectNotFound",
            "reason": "CommandNotFoundException", "target_name": "Get-AcceptedDomain",
            "exception_type": "System.Management.Automation.CommandNotFoundException",
        },
    }  # fmt: skip
    report, _ = diagnose(missing_cmdlet, graph=never)
    check = report.check("routing-domain")
    assert check.status == Status.FAIL and check.summary.startswith("could not read the accepted domains: ")
    assert "Get-AcceptedDomain" in check.summary and check.fix is None
    assert report.check("directory-sync").summary == "not checked: the accepted domains could not be read"


# -- 2. directory synchronization, when the domain is missing ----------------------------------------------


def test_sync_off_is_the_documented_cause_and_the_fix_is_printed_not_sent(
    diagnose: Callable[..., tuple[Report, Session]], graph: Callable[..., GraphClient]
) -> None:
    client = graph(yaml.safe_load(SYNC_OFF.read_text(encoding="utf-8")))
    report, exo = diagnose(accepted(PUBLIC, INITIAL), graph=client)

    domain, sync = report.check("routing-domain"), report.check("directory-sync")
    assert (report.status, domain.status, sync.status) == (Status.FAIL, Status.FAIL, Status.FAIL)
    assert "HCW8001" in domain.summary and domain.evidence["routing_domains"] == []
    assert domain.fix is not None and "see the directory-sync check" in domain.fix
    assert sync.summary.startswith(
        "directory synchronization was on and has been turned off (onPremisesSyncEnabled false: synchronized once"
    )
    assert sync.evidence == {
        "tenant_id": TENANT_ID, "organization": "Contoso", "onPremisesSyncEnabled": False,
        "onPremisesLastSyncDateTime": "2026-11-09T16:28:41+00:00",
    }  # fmt: skip
    assert sync.fix is not None and ENABLE_DIR_SYNC == "Set-EntraDirSyncEnabled -EnableDirSync $true -Force"
    assert ENABLE_DIR_SYNC in sync.fix and "Set-MsolDirSyncEnabled is retired" in sync.fix
    assert f"PATCH https://graph.microsoft.com/beta/organization/{TENANT_ID}" in sync.fix and "72 hours" in sync.fix
    # Read only: Exchange Online was asked for its accepted domains, Graph only read.
    assert sent(exo) == ["Get-AcceptedDomain"]
    assert methods(client) == ["GET", "GET"]


def test_false_was_turned_off_and_null_was_never_on_and_they_read_differently(
    diagnose: Callable[..., tuple[Report, Session]], graph: Callable[..., GraphClient]
) -> None:
    # Graph: false, "originally synced ... but is no longer synced"; null, "never been synced".
    checks = {}
    for state in (False, None):
        report, _ = diagnose(
            accepted(PUBLIC, INITIAL), graph=graph(tenant_source(SYNC_OFF, onPremisesSyncEnabled=state))
        )
        checks[state] = report.check("directory-sync")
    off, never = checks[False], checks[None]

    assert off.status == never.status == Status.FAIL  # both leave the routing domain missing
    assert off.summary != never.summary and off.fix != never.fix
    assert "has been turned off (onPremisesSyncEnabled false: synchronized once, no longer)" in off.summary
    assert "has never been turned on for this tenant (onPremisesSyncEnabled null: never synchronized)" in never.summary
    assert "never" not in off.summary and "turned off" not in never.summary
    # The 72-hour wait after turning sync off concerns only a tenant where it was turned off.
    assert off.fix is not None and never.fix is not None
    assert off.fix.startswith("turn directory synchronization back on,") and "72 hours" in off.fix
    assert never.fix.startswith("turn directory synchronization on,") and "72 hours" not in never.fix


def test_sync_on_passes_and_the_domain_fix_says_what_is_left(
    diagnose: Callable[..., tuple[Report, Session]], graph: Callable[..., GraphClient]
) -> None:
    report, _ = diagnose(accepted(PUBLIC, INITIAL), graph=lambda: graph(yaml.safe_load(SYNC_ON.read_text("utf-8"))))
    domain, sync = report.check("routing-domain"), report.check("directory-sync")
    assert (domain.status, sync.status) == (Status.FAIL, Status.PASS)
    assert sync.evidence["onPremisesSyncEnabled"] is True and "does not apply" in sync.summary
    assert domain.fix is not None and "open a case with Microsoft support" in domain.fix


def test_without_graph_it_says_it_could_not_check_and_how_to_by_hand(
    diagnose: Callable[..., tuple[Report, Session]],
) -> None:
    report, _ = diagnose(accepted(PUBLIC, INITIAL), graph=None)
    sync = report.check("directory-sync")
    assert sync.status == Status.WARN and sync.summary.startswith("could not be checked: Microsoft Graph is not")
    assert sync.evidence == {"graph": "not configured"}
    assert sync.fix is not None and sync.fix.startswith("check it by hand: GET https://graph.microsoft.com/v1.0/")
    assert "read onPremisesSyncEnabled" in sync.fix and ENABLE_DIR_SYNC in sync.fix


def test_graph_that_refuses_is_a_failing_check_naming_the_error(
    diagnose: Callable[..., tuple[Report, Session]], graph: Callable[..., GraphClient]
) -> None:
    source = yaml.safe_load(SYNC_OFF.read_text(encoding="utf-8"))
    denied = source["interactions"][1]["response"]  # the demo's Authorization_RequestDenied answer
    source["interactions"] = [{"request": source["interactions"][0]["request"], "response": denied}]
    report, _ = diagnose(accepted(PUBLIC, INITIAL), graph=graph(source))
    sync = report.check("directory-sync")
    assert sync.status == Status.FAIL and sync.evidence["error"] == "GraphPermissionError"
    assert sync.summary.startswith("could not read the organization's onPremisesSyncEnabled from Microsoft Graph: ")
    assert sync.target == "graph: graph.microsoft.com"


def test_an_exo_session_is_needed_from_somewhere() -> None:
    with pytest.raises(TargetMissingError, match="no target for role 'exo'"):
        diagnose_routing_domain(Targets.of())


# -- the CLI ------------------------------------------------------------------------------------------------


def test_the_demo_has_its_routing_domain(cli: Any) -> None:
    result = cli("--replay", DEMO, "diagnose", "routing-domain")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == "routing-domain (contoso.onmicrosoft.com): PASS"
    assert lines[1].startswith("  PASS  routing-domain [exo: ")
    assert "          routing_domains: contoso.mail.onmicrosoft.com" in lines
    assert lines[-1] == "  SKIP  directory-sync: not checked: a routing domain is there"


def test_the_tenant_with_the_routing_domain_passes(cli: Any) -> None:
    result = cli("--replay", SCENARIOS / "routing-ok", "-o", "json", "diagnose", "routing-domain")
    assert result.code == 0
    assert [c["status"] for c in result.json()["checks"]] == ["pass", "skip"]


def test_the_tenant_without_it_fails_with_sync_off_and_the_fix(cli: Any) -> None:
    table = cli("--replay", SCENARIOS / "routing-missing", "diagnose", "routing-domain")
    document = cli("--replay", SCENARIOS / "routing-missing", "-o", "json", "diagnose", "routing-domain").json()

    assert table.code == 1 and document["status"] == "fail"
    assert [(c["name"], c["status"]) for c in document["checks"]] == [
        ("routing-domain", "fail"), ("directory-sync", "fail"),
    ]  # fmt: skip
    assert document["checks"][1]["evidence"]["onPremisesSyncEnabled"] is False
    assert (
        "  FAIL  directory-sync [graph: graph.microsoft.com]: directory synchronization was on and has been turned off"
        in table.out
    )
    (fix,) = [line for line in table.out.splitlines() if ENABLE_DIR_SYNC in line]
    assert fix.startswith("          fix: turn directory synchronization back on")


@pytest.mark.parametrize("replayed", ["directory", "file"])
def test_without_graph_recordings_the_cli_says_how_to_check_by_hand(cli: Any, tmp_path: Path, replayed: str) -> None:
    shutil.copy(SCENARIOS / "routing-missing" / "exo.yaml", tmp_path / "exo.yaml")  # no graph/ beside it
    result = cli("--replay", tmp_path / "exo.yaml" if replayed == "file" else tmp_path, "-o", "json", "diagnose",
                 "routing-domain")  # fmt: skip
    assert result.code == 1, result
    sync = result.json()["checks"][1]
    assert (sync["status"], sync["evidence"]) == ("warn", {"graph": "not configured"})
    assert sync["fix"].startswith("check it by hand")


def test_a_bad_tenant_is_exit_2(cli: Any) -> None:
    line = cli("--replay", DEMO, "diagnose", "routing-domain", "--tenant", "contoso example").one_line_error(2)
    assert "a tenant name is one DNS label" in line


def test_a_missing_exo_target_is_exit_2_naming_the_role(cli: Any, write_config: Callable[..., Path]) -> None:
    config = write_config('[targets.connect]\nhost = "connect01.contoso.example"\n')
    line = cli("--config", config, "diagnose", "routing-domain").one_line_error(2)
    assert f"no target for role 'exo' in {config}: add [targets.exo]" in line


@pytest.mark.slow
def test_an_unreachable_exchange_online_jump_host_is_exit_3(
    cli: Any, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSBRIDGE_PASSWORD", "not-used-nothing-listens")
    config = write_config(
        '[targets.exo]\nhost = "127.0.0.1"\nport = 9\nusername = "ci"\nauth = "basic"\ntls = false\n'
        'encryption = "never"\norganization = "contoso.onmicrosoft.com"\n'
        'app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"\n'
        'certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"\n'
    )  # nothing listens on the discard port
    assert "127.0.0.1" in cli("--config", config, "diagnose", "routing-domain").one_line_error(3)
