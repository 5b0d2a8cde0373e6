"""Injection: every mutating wrapper, fed 44 hostile strings, sends each one as a PSRP parameter value.

The server side checks every pipeline it receives: each statement is a plain cmdlet name or a packaged
script whose text is byte for byte the shipped one (its SHA-256), the hostile string is never part of a
command or parameter name, and the mutating command itself arrives carrying the string verbatim as (or
inside a list or hashtable of) a parameter value. The reads a wrapper makes first are answered with the
demo recordings' output, keyed by the hostile value, so every wrapper gets as far as its write.

A wrapper may refuse a value client-side with a one-line InputError, sending nothing, only where that is
deliberate validation (a GUID, a TimeSpan, a policy type, a server FQDN): such rows say `validates=True`
and their refusals are counted apart. The interactive-only cmdlets refuse every call without sending.

Figures: 30 mutating wrappers in the table. 26 take text, and 21 of those deliver it: 22 rows x 44
values = 968 calls whose write arrives carrying the value, 0 pasted into script text. 4 take text only
through deliberate validation (351 one-line InputErrors, nothing sent; connect_exchange_server accepts
one value, a long FQDN-shaped one, and delivers it), 1 is interactive-only (44 refusals, nothing sent),
and 4 take no text, as their signatures show. Three rows (132 calls) also run over the loopback socket.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import re
import typing
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudsync_data import TENANT, demo_document, demo_object, episode, status
from helpers import FAST_RETRY, REPO, cassette
from hostile import HOSTILE
from loopback import endpoint, session_for

from psbridge import InputError, InteractiveOnlyError, PsbridgeError, Session, adsync, cloudsync, exchange
from psbridge import ps as packaged
from psbridge.exchange import ExoConnection
from psbridge.ps import script_digest
from psbridge.replay.episodes import Episode, EpisodePlayer, Miss
from psbridge.replay.keys import Key, Statement
from psbridge.replay.server import ReplayServer
from psbridge.replay.transport import replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

pytestmark = pytest.mark.slow  # every wrapper through psrpcore and pypsrp, several over a socket

PACKAGES = {"adsync": adsync, "cloudsync": cloudsync, "exchange": exchange}
READ_PREFIXES = ("get_", "list_", "iter_", "check_")
CMDLET = re.compile(r"^[A-Za-z]+-[A-Za-z0-9]+$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
EXO_SCRIPT = "exchange/Invoke-ExchangeCommand.ps1"
GRAPH_URI = f"https://graph.microsoft.com/beta/directory/onPremisesSynchronization/{TENANT}"
APP = {"organization": "contoso.onmicrosoft.com", "certificate_thumbprint": "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"}


# -- the demo's answers, keyed anew by the hostile value ---------------------------------------------------


@functools.cache
def _demo_episodes(source: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((REPO / "recorded_sessions" / "sources" / "demo" / source).read_text("utf-8"))
    return list(data["episodes"])


def demo_output(source: str, **parameters: Any) -> list[Any]:
    """The output of the first demo episode whose parameters include these (anchors resolved)."""
    for spec in _demo_episodes(source):
        given = {p["name"]: p.get("value") for p in spec.get("parameters") or ()}
        if all(given.get(name) == value for name, value in parameters.items()):
            return list(spec.get("output") or [])
    raise LookupError(f"no demo episode in {source} with {parameters}")


def exo_read(cmdlet: str, identity: str, demo_identity: str, **extra: Any) -> dict[str, Any]:
    """The runner script reading `identity` with `cmdlet`, answered as the demo answered `demo_identity`."""
    parameters = [{"name": "Command", "value": cmdlet}, {"name": "Arguments", "value": {"Identity": identity}}]
    parameters += [{"name": name, "value": value} for name, value in extra.items()]
    output = demo_output("exo.yaml", Command=cmdlet, Arguments={"Identity": demo_identity}, **extra)
    return {"script": EXO_SCRIPT, "parameters": parameters, "output": output}


def _graph_read(module_path: str) -> dict[str, Any]:
    """The deletion-prevention read, answered with the demo's 'enabled' page."""
    arguments = {"Uri": GRAPH_URI, "Method": "GET"}
    output = demo_output("cloudsync.yaml", Function="Invoke-AADCloudSyncToolsGraphQuery", Arguments=arguments)
    return episode("Invoke-AADCloudSyncToolsGraphQuery", arguments, module_path=module_path, output=output)


# -- the table of mutating wrappers ------------------------------------------------------------------------

Call = Callable[[Session, str, Path], object]


@dataclasses.dataclass(frozen=True)
class Case:
    """One way a mutating wrapper takes text: `call` puts the hostile value into `arguments`.

    `reaches`: the command that changes state (a cmdlet, a packaged script, or the runner scripts'
    -Command/-Function); it must arrive carrying the value. `answered`: the reads before it, keyed by the
    value. `validates`: the wrapper may refuse the value client-side (InputError, nothing sent).
    `refuses`: the wrapper never sends anything (InteractiveOnlyError). `fresh`: a new Session per call
    (sign-ins register per-session setup).
    """

    wrapper: str
    arguments: tuple[str, ...]
    call: Call
    reaches: str = ""
    answered: Callable[[str], list[dict[str, Any]]] = lambda _value: []
    validates: bool = False
    refuses: bool = False
    fresh: bool = False

    @property
    def id(self) -> str:
        return f"{self.wrapper}[{','.join(self.arguments)}]"


def _connect_exo(session: Session, value: str, _tmp: Path) -> object:
    exchange.connect_exchange_online(session, ExoConnection(**APP, app_id=value, command_names=(value,)))
    return exchange.get_organization_config(session)  # the sign-in runs when the runspace opens


def _connect_server(session: Session, value: str, _tmp: Path) -> object:
    exchange.connect_exchange_server(session, value)
    return exchange.get_organization_config(session)


CASES: tuple[Case, ...] = (
    # -- adsync
    Case("adsync.set_scheduler", ("customized_sync_cycle_interval",),
         lambda s, v, _: adsync.set_scheduler(s, customized_sync_cycle_interval=v), validates=True),
    Case("adsync.set_scheduler", ("purge_run_history_interval",),
         lambda s, v, _: adsync.set_scheduler(s, purge_run_history_interval=v), validates=True),
    Case("adsync.set_scheduler", ("next_sync_cycle_policy_type",),
         lambda s, v, _: adsync.set_scheduler(s, next_sync_cycle_policy_type=v), validates=True),
    Case("adsync.start_sync_cycle", ("policy_type",),
         lambda s, v, _: adsync.start_sync_cycle(s, policy_type=v), validates=True),
    Case("adsync.get_server_configuration", ("path",),  # writes an export on the server
         lambda s, v, _: adsync.get_server_configuration(s, path=v), reaches="adsync/Export-ServerConfiguration.ps1"),
    Case("adsync.set_aad_company_feature", ("**features (names)",),
         lambda s, v, _: adsync.set_aad_company_feature(s, **{v: True}), refuses=True),
    # -- cloudsync
    Case("cloudsync.install_prerequisites", ("module_path",),
         lambda s, v, _: cloudsync.install_prerequisites(s, module_path=v),
         reaches="Install-AADCloudSyncToolsPrerequisites"),
    Case("cloudsync.connect", ("module_path",),
         lambda s, v, _: cloudsync.connect(s, module_path=v), reaches="Connect-AADCloudSyncTools"),
    Case("cloudsync.set_tenant_id", ("tenant_id",),
         lambda s, v, _: cloudsync.set_tenant_id(s, tenant_id=v), validates=True),
    Case("cloudsync.set_tenant_id", ("module_path",),
         lambda s, v, _: cloudsync.set_tenant_id(s, tenant_id=TENANT, module_path=v),
         reaches="Set-AADCloudSyncToolsTenantId"),
    Case("cloudsync.repair_account", ("module_path",),
         lambda s, v, _: cloudsync.repair_account(s, module_path=v), reaches="Repair-AADCloudSyncToolsAccount",
         answered=lambda v: [
             episode("Repair-AADCloudSyncToolsAccount", module_path=v, check_only=True),
             episode("Get-AADCloudSyncToolsServiceAccount", module_path=v, output=[demo_object("service_account")]),
         ]),
    Case("cloudsync.set_job_schema", ("job_id",),
         lambda s, v, _: cloudsync.set_job_schema(s, job_id=v, schema=demo_document("schema_after")),
         reaches="Set-AADCloudSyncToolsJobSchema",
         answered=lambda v: [
             episode("Get-AADCloudSyncToolsJobSchema", {"Id": v}, output=[demo_object("schema_before")])
         ]),
    Case("cloudsync.resume_job", ("job_id",),
         lambda s, v, _: cloudsync.resume_job(s, job_id=v), reaches="Resume-AADCloudSyncToolsJob",
         answered=lambda v: [
             episode("Get-AADCloudSyncToolsJobStatus", {"Id": v}, output=[status("quarantined_status")])
         ]),
    Case("cloudsync.suspend_job", ("job_id",),
         lambda s, v, _: cloudsync.suspend_job(s, job_id=v), reaches="Suspend-AADCloudSyncToolsJob",
         answered=lambda v: [episode("Get-AADCloudSyncToolsJobStatus", {"Id": v}, output=[status("healthy_status")])]),
    Case("cloudsync.restart_job", ("job_id",),
         lambda s, v, _: cloudsync.restart_job(s, job_id=v), reaches="Restart-AADCloudSyncToolsJob"),
    Case("cloudsync.disable_dirsync_accidental_deletion_prevention", ("tenant_id",),
         lambda s, v, _: cloudsync.disable_dirsync_accidental_deletion_prevention(s, tenant_id=v), validates=True),
    Case("cloudsync.disable_dirsync_accidental_deletion_prevention", ("module_path",),
         lambda s, v, _: cloudsync.disable_dirsync_accidental_deletion_prevention(s, tenant_id=TENANT, module_path=v),
         reaches="Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention",
         answered=lambda v: [_graph_read(v)]),
    Case("cloudsync.invoke_graph_query", ("uri", "body", "module_path"),  # POST: a write
         lambda s, v, _: cloudsync.invoke_graph_query(s, uri=v, method="POST", body=v, module_path=v),
         reaches="Invoke-AADCloudSyncToolsGraphQuery"),
    Case("cloudsync.start_verbose_logs", ("module_path",),
         lambda s, v, _: cloudsync.start_verbose_logs(s, module_path=v), reaches="Start-AADCloudSyncToolsVerboseLogs"),
    Case("cloudsync.stop_verbose_logs", ("module_path",),
         lambda s, v, _: cloudsync.stop_verbose_logs(s, module_path=v), reaches="Stop-AADCloudSyncToolsVerboseLogs"),
    Case("cloudsync.export_logs", ("output_path", "module_path"),
         lambda s, v, _: cloudsync.export_logs(s, output_path=v, module_path=v),
         reaches="Export-AADCloudSyncToolsLogs"),
    Case("cloudsync.remove_group_members", ("group_object_id",),
         lambda s, v, _: cloudsync.remove_group_members(s, group_object_id=v), validates=True),
    # -- exchange
    Case("exchange.connect_exchange_online", ("connection.app_id", "connection.command_names"),
         _connect_exo, reaches="Connect-ExchangeOnline", fresh=True),
    Case("exchange.connect_exchange_server", ("server",),
         _connect_server, reaches="exchange/Connect-ExchangeServer.ps1", validates=True, fresh=True),
    Case("exchange.set_mailbox_cloud_managed", ("identity",),
         lambda s, v, _: exchange.set_mailbox_cloud_managed(s, identity=v, enabled=True), reaches="Set-Mailbox",
         answered=lambda v: [exo_read("Get-Mailbox", v, "alex@contoso.example")]),
    Case("exchange.set_mailbox_attributes", ("identity", "attributes values"),
         lambda s, v, _: exchange.set_mailbox_attributes(s, identity=v, attributes={"CustomAttribute1": v}),
         reaches="Set-Mailbox",
         answered=lambda v: [exo_read("Get-Mailbox", v, "adele@contoso.example", Property=["CustomAttribute1"])]),
    Case("exchange.set_mailbox_email_addresses", ("identity",),
         lambda s, v, _: exchange.set_mailbox_email_addresses(s, identity=v, add=["smtp:adele.vance@contoso.example"]),
         reaches="Set-Mailbox", answered=lambda v: [exo_read("Get-Mailbox", v, "adele@contoso.example")]),
    Case("exchange.clear_previous_mailbox_info", ("identity",),
         lambda s, v, _: exchange.clear_previous_mailbox_info(s, identity=v, confirm_irreversible=True),
         reaches="Set-User", answered=lambda v: [exo_read("Get-User", v, "dana@contoso.example")]),
    Case("exchange.set_cloud_managed_batch", ("identities",),
         lambda s, v, _: exchange.set_cloud_managed_batch(s, [v], pace_s=0),
         reaches="exchange/Set-CloudManagedBatch.ps1"),
    Case("exchange.rollout_cloud_managed", ("identities",),
         lambda s, v, tmp: exchange.rollout_cloud_managed(s, identities=[v], journal=tmp / f"{uuid.uuid4()}.jsonl"),
         reaches="exchange/Set-CloudManagedBatch.ps1"),
    Case("exchange.rollout_cloud_managed", ("filter",),
         lambda s, v, tmp: exchange.rollout_cloud_managed(s, filter=v, journal=tmp / f"{uuid.uuid4()}.jsonl"),
         reaches="exchange/Set-CloudManagedBatch.ps1",
         answered=lambda v: [{"script": "exchange/Get-MailboxIdentities.ps1", "output": [json.dumps([v])],
                              "parameters": [{"name": "Filter", "value": v},
                                             {"name": "ResultSize", "value": "Unlimited"},
                                             {"name": "PageSize", "value": 1000}]}]),  # one page: a JSON array
)  # fmt: skip

# Mutating wrappers with no text parameter at all: nothing hostile can reach them (checked below).
NO_TEXT = (
    "adsync.enable_export_deletion_threshold",
    "adsync.disable_export_deletion_threshold",
    "adsync.set_aad_password_sync_state",
    "adsync.pause_for_cutover",
    "adsync.resume_after_rollback",
    "exchange.set_organization_config",
)


def _wrapper(qualified: str) -> Callable[..., Any]:
    package, name = qualified.split(".")
    function: Callable[..., Any] = getattr(PACKAGES[package], name)
    return function


def public_wrappers() -> set[str]:
    """Every public function of the three packages (their `__all__`) whose first parameter is the session."""
    found = set()
    for package_name, package in PACKAGES.items():
        for name in package.__all__:
            value = getattr(package, name)
            if inspect.isfunction(value) and next(iter(inspect.signature(value).parameters), None) == "session":
                found.add(f"{package_name}.{name}")
    return found


def test_every_mutating_public_wrapper_is_in_the_table() -> None:
    """The rule: a public wrapper (in a package's `__all__`, session first) is a read only when it is named
    get_/list_/iter_/check_; every other one is mutating and must be in CASES or NO_TEXT. (A read that
    writes, like get_server_configuration's export, may be listed too.) 30 mutating wrappers today."""
    wrappers = public_wrappers()
    mutating = {w for w in wrappers if not w.split(".")[1].startswith(READ_PREFIXES)}
    table = {case.wrapper for case in CASES} | set(NO_TEXT)

    assert mutating - table == set(), "a new mutating wrapper: add it to CASES (or NO_TEXT) with its text arguments"
    assert table - wrappers == set(), "the table names a wrapper that is no longer public"
    assert len(table) >= 30


def _admits_text(annotation: Any) -> bool:
    if annotation is str or annotation is Any:
        return True
    return any(_admits_text(arg) for arg in typing.get_args(annotation))


@pytest.mark.parametrize("qualified", NO_TEXT)
def test_wrappers_listed_as_taking_no_text_take_none(qualified: str) -> None:
    function = _wrapper(qualified)
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]

    assert all(not _admits_text(hints[p.name]) for p in parameters)
    assert all(p.kind != inspect.Parameter.VAR_KEYWORD for p in parameters)  # no free-form names either


def test_the_hostile_list() -> None:
    """44 distinct strings; none with surrounding whitespace (identity wrappers strip it, by design)."""
    assert len(set(HOSTILE)) == len(HOSTILE) >= 30
    assert all(value == value.strip() for value in HOSTILE)
    assert max(len(v) for v in HOSTILE) > 32 * 1024  # one spans several PSRP fragments


# -- the server's side --------------------------------------------------------------------------------------


class Host:
    """A replay server over the reads the case needs for every hostile value; it keeps what it saw."""

    def __init__(self, case: Case) -> None:
        recorded = cassette([spec for value in HOSTILE for spec in case.answered(value)])
        self.seen: list[tuple[Key, bool]] = []  # each pipeline's key, and whether it was a replay miss
        self.server = ReplayServer(
            EpisodePlayer(recorded.episodes, "hostile values"), recorded.pool,
            script_names=packaged.digests(), on_episode=self._keep,
        )  # fmt: skip

    def _keep(self, _pipeline: uuid.UUID, key: Key, outcome: Episode | Miss) -> None:
        self.seen.append((key, isinstance(outcome, Miss)))

    def session(self) -> Session:
        transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(self.server.handle))
        return Session(transport=transport, retry=FAST_RETRY)


def _holds(value: Any, wanted: str) -> bool:
    """`wanted` is the value, or an element of a list or hashtable (nested) that is."""
    if isinstance(value, dict):
        return any(_holds(v, wanted) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, wanted) for v in value)
    return bool(value == wanted)


def _names(statement: Statement) -> set[str]:
    """The statement's command, and what the runner scripts run: their -Command or -Function."""
    inner = {str(p.value) for p in statement.params if p.name in ("Command", "Function")}
    return {statement.command, *inner}


def _statement_problem(statement: Statement, value: str) -> str | None:
    if statement.script_sha256 is None:
        if not CMDLET.match(statement.command):
            return f"not a plain cmdlet name: {statement.command[:80]!r}"
    elif statement.command not in packaged.names():
        return f"a script that is not packaged: {statement.command!r}"
    elif statement.script_sha256 != script_digest(packaged.load(statement.command)):
        return f"the text of {statement.command} is not the packaged text"
    if value in statement.command:
        return "the value is inside a command name"
    odd = [p.name for p in statement.params if p.name is not None and not NAME.match(p.name)]
    return f"parameter names that are not names: {odd!r}" if odd else None


def _problem(case: Case, host: Host, value: str, call: Callable[[], object]) -> tuple[str, str | None]:
    """Call the wrapper with `value`; ('sent'|'rejected'|'refused', what went wrong or None)."""
    before = len(host.seen)
    error: PsbridgeError | None = None
    try:
        call()
    except PsbridgeError as exc:  # usually the replay miss on the write: the server had no answer for it
        error = exc
    seen = host.seen[before:]
    if error is not None and "\n" in str(error):
        return "error", f"a multi-line error: {str(error)[:120]!r}"
    if isinstance(error, InteractiveOnlyError) or (isinstance(error, InputError) and not seen):
        kind = "refused" if isinstance(error, InteractiveOnlyError) else "rejected"
        allowed = case.refuses if kind == "refused" else case.validates
        return kind, None if allowed and not seen else f"{kind} client-side: {error}"
    for key, _miss in seen:
        for statement in key.statements:
            if (problem := _statement_problem(statement, value)) is not None:
                return "sent", problem
    write = next((key for key, miss in seen if miss), None)  # the first command nobody answered
    if write is None or len(write.statements) != 1 or case.reaches not in _names(write.statements[0]):
        return "sent", f"{case.reaches} was not reached; the server saw {[k.display()[:100] for k, _ in seen]}"
    if not any(_holds(p.value, value) for p in write.statements[0].params):
        return "sent", f"{case.reaches} arrived without the value: {write.display()[:200]}"
    return "sent", None


def _run(case: Case, host: Host, sessions: Callable[[], Session], tmp_path: Path) -> dict[str, int]:
    """Every hostile value through the case; returns how many were sent, rejected and refused."""
    counts = {"sent": 0, "rejected": 0, "refused": 0}
    problems = []
    session = sessions()
    try:
        for index, value in enumerate(HOSTILE):
            if case.fresh and index:
                session.close()
                session = sessions()
            kind, problem = _problem(case, host, value, lambda v=value: case.call(session, v, tmp_path))
            counts[kind] = counts.get(kind, 0) + 1
            if problem is not None:
                problems.append(f"#{index} {value[:40]!r}: {problem}")
    finally:
        session.close()
    assert problems == [], f"{case.id}: {len(problems)} of {len(HOSTILE)} values went wrong"
    assert host.server.player.unplayed == []  # type: ignore[attr-defined]  # each read came keyed by its value
    return counts


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_each_hostile_value_arrives_as_a_parameter_value(case: Case, tmp_path: Path) -> None:
    """44 values per row; a row that does not validate must deliver all 44 to its write."""
    host = Host(case)
    counts = _run(case, host, host.session, tmp_path)

    if case.refuses:
        assert counts == {"sent": 0, "rejected": 0, "refused": len(HOSTILE)} and host.seen == []
    elif not case.validates:
        assert counts == {"sent": len(HOSTILE), "rejected": 0, "refused": 0}
    else:
        assert counts["rejected"] > 0 and counts["sent"] + counts["rejected"] == len(HOSTILE)


def test_most_mutating_wrappers_send_text_rather_than_refuse_it() -> None:
    """21 of the 26 wrappers that take text deliver it (4 only validate it, 1 is interactive-only)."""
    taking_text = {case.wrapper for case in CASES}
    delivering = {case.wrapper for case in CASES if not (case.validates or case.refuses)}
    assert len(delivering) >= 0.75 * len(taking_text)


LOOPBACK = ("adsync.get_server_configuration", "cloudsync.restart_job", "exchange.set_mailbox_cloud_managed")


@pytest.mark.parametrize("wrapper", LOOPBACK)
def test_hostile_values_over_the_loopback_socket(wrapper: str, tmp_path: Path) -> None:
    """The same check through pypsrp's HTTP client and a real socket: 3 wrappers x 44 values."""
    (case,) = [c for c in CASES if c.wrapper == wrapper]
    host = Host(case)
    with endpoint(host.server.handle) as server:
        counts = _run(case, host, lambda: session_for(server.url), tmp_path)
    assert counts["sent"] == len(HOSTILE)
