"""The conformance check: every read-only wrapper of a product, run against a target, each model validated.

`STEPS` is the whole plan, one row per wrapper: the role whose target it runs on, its fixed arguments,
the arguments it takes from a value an earlier row found (`needs`), and the values it finds for later
rows (`finds`: the first mailbox of a listing, the first job, a group the user is in). A row whose
value nobody found is not applicable, and says why. Roles run in `ORDER`, so a directory-synced
mailbox found on Exchange Online serves the reads of Exchange Server and Active Directory after it.
`EXCLUDED` names every public wrapper left out, and why: each changes something, or needs a person.

Each row becomes a runbook `Check` (`psbridge.runbooks.report`): `pass` when the wrapper returned
its model, `fail` with the error otherwise, and `skip` when it is not applicable. A model that did
not validate shows the shape of what came back (type names, property names and each value's type),
never a value. A target that cannot be reached fails its row, skips the rest of its role and makes
the exit code 3, as for the runbooks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from psbridge.errors import (
    ExitCode,
    NotConnectedError,
    PsbridgeError,
    ReplayError,
    ReplayMissError,
    TransportError,
    UnexpectedOutputError,
)
from psbridge.result import PSObjectData
from psbridge.runbooks.report import Check, Report, Status

GRAPH = "graph"  # Cloud Sync over Microsoft Graph: a backend, not a target of the config file
EXO_REST = "exo-rest"  # Exchange Online over REST (an exo target with via = "rest"), no jump host
ORDER = ("connect", "cloudsync-agent", GRAPH, "exo", EXO_REST, "exchange", "dc")
CONTRIBUTE = (
    "record it with `psbridge selftest --record DIR`, review the files and share them "
    "(README: Checking psbridge against your own hosts)"
)
_SHOWN_OBJECTS = 5  # of a raw output with several objects, the shapes shown


@dataclasses.dataclass(frozen=True)
class Step:
    """One wrapper in the plan: `wrapper` is its dotted path, called with the role's session (or Graph client)."""

    wrapper: str
    role: str
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    needs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # parameter -> a found value's name
    finds: Mapping[str, Callable[[Any], str | None]] = dataclasses.field(default_factory=dict)
    # The organization's own names in the result (its domains), which a recording of the run scrubs.
    names: Callable[[Any], Iterable[str]] | None = None

    @property
    def name(self) -> str:
        """`exchange.get_mailbox`, `cloudsync.graph.get_job`: the path without psbridge and its `functions`."""
        parts = [p for p in self.wrapper.split(".")[1:] if p != "functions"]
        return ".".join(parts)


def _first(items: Iterable[Any], attribute: str) -> str | None:
    return next((str(getattr(i, attribute)) for i in items if getattr(i, attribute, None)), None)


def _first_synced(mailboxes: Iterable[Any]) -> str | None:
    return _first((m for m in mailboxes if m.is_dir_synced), "user_principal_name")


def _parent_ou(user: Any) -> str | None:
    parent = user.distinguished_name.split(",", 1)[1] if "," in user.distinguished_name else ""
    return parent if parent.upper().startswith("OU=") else None


# What each found value is, and where it comes from: the reason a row that needs it is not applicable.
FOUND = {
    "mailbox": "a mailbox, from exchange.list_mailboxes",
    "synced_mailbox": "a directory-synced mailbox's UPN, from exchange.list_mailboxes on an exo target "
    "(run selftest with the exo target too)",
    "job_id": "a Cloud Sync job, from cloudsync.get_job",
    "graph_job_id": "a Cloud Sync job, from cloudsync.graph.get_job",
    "ad_group": "a group the user is a direct member of, from ad.get_ad_user",
    "ad_ou": "the organizational unit the user is in, from ad.get_ad_user (none when the user is in a container)",
    "server_mailbox": "a mailbox on Exchange Server: psbridge has no read that lists them",
    "server_mail_user": "a mail user on Exchange Server: psbridge has no read that lists them",
}

_PROBE = "psbridge.targets.functions.probe"
_ADSYNC, _CLOUDSYNC, _GRAPH = "psbridge.adsync.functions", "psbridge.cloudsync.functions", "psbridge.cloudsync.graph"
_EXCHANGE, _AD = "psbridge.exchange.functions", "psbridge.ad.functions"
# The Cloud Sync service principals (application template "Active Directory to Azure Active Directory
# Provisioning"), asked through the module's own Graph passthrough.
_CLOUD_SYNC_PRINCIPALS = (
    "https://graph.microsoft.com/beta/servicePrincipals?filter=applicationTemplateId eq "
    "'1a4721b3-e57f-4451-ae87-ef078703ec94'"
)


def _exchange_online(role: str) -> tuple[Step, ...]:
    """The Exchange Online reads, on the jump host (`exo`) or over REST (`exo-rest`): the same functions."""
    return (
        Step(
            f"{_EXCHANGE}.list_mailboxes",
            role,
            finds={"mailbox": lambda r: _first(r, "user_principal_name"), "synced_mailbox": _first_synced},
        ),
        Step(f"{_EXCHANGE}.get_mailbox", role, needs={"identity": "mailbox"}),
        Step(f"{_EXCHANGE}.get_user", role, needs={"identity": "mailbox"}),
        Step(f"{_EXCHANGE}.get_organization_config", role),
        Step(f"{_EXCHANGE}.get_accepted_domains", role, names=lambda r: [d.domain_name for d in r.domains]),
        Step("psbridge.exchange.bulk.get_mailbox_identities", role),
    )


STEPS: tuple[Step, ...] = (
    Step(_PROBE, "connect"),
    *(
        Step(f"{_ADSYNC}.{n}", "connect")
        for n in (
            "get_global_settings",
            "get_version",
            "check_version",
            "get_export_deletion_threshold",
            "get_scheduler",
            "get_connector",
            "get_connector_run_status",
            "get_run_profile_result",
            "get_auto_upgrade",
        )
    ),
    Step(_PROBE, "cloudsync-agent"),
    Step(f"{_CLOUDSYNC}.get_agent_version", "cloudsync-agent"),
    Step(f"{_CLOUDSYNC}.get_info", "cloudsync-agent"),
    Step(f"{_CLOUDSYNC}.get_job", "cloudsync-agent", finds={"job_id": lambda r: _first(r.jobs, "id")}),
    *(Step(f"{_CLOUDSYNC}.{n}", "cloudsync-agent") for n in ("get_job_status", "get_job_schedule", "get_job_settings")),
    Step(f"{_CLOUDSYNC}.get_job_schema", "cloudsync-agent", needs={"job_id": "job_id"}),
    Step(f"{_CLOUDSYNC}.get_job_scope", "cloudsync-agent", needs={"job_id": "job_id"}),
    Step(f"{_CLOUDSYNC}.get_service_principal", "cloudsync-agent"),
    Step(f"{_CLOUDSYNC}.get_service_account", "cloudsync-agent"),
    Step(f"{_CLOUDSYNC}.invoke_graph_query", "cloudsync-agent", args={"uri": _CLOUD_SYNC_PRINCIPALS}),
    Step(f"{_GRAPH}.get_service_principal", GRAPH),
    Step(f"{_GRAPH}.get_job", GRAPH, finds={"graph_job_id": lambda r: _first(r.jobs, "id")}),
    *(Step(f"{_GRAPH}.{n}", GRAPH) for n in ("get_job_status", "get_job_schedule", "get_job_settings")),
    Step(f"{_GRAPH}.get_job_schema", GRAPH, needs={"job_id": "graph_job_id"}),
    Step(f"{_GRAPH}.get_deletion_threshold", GRAPH, needs={"job_id": "graph_job_id"}),
    Step(f"{_GRAPH}.get_tenant_sync", GRAPH),
    Step(_PROBE, "exo"),
    *_exchange_online("exo"),
    *_exchange_online(EXO_REST),
    Step(_PROBE, "exchange"),
    Step(f"{_EXCHANGE}.get_server_remote_mailbox", "exchange", needs={"identity": "synced_mailbox"}),
    Step(f"{_EXCHANGE}.get_server_mailbox", "exchange", needs={"identity": "server_mailbox"}),
    Step(f"{_EXCHANGE}.get_server_mail_user", "exchange", needs={"identity": "server_mail_user"}),
    Step(_PROBE, "dc"),
    Step(
        f"{_AD}.get_ad_user",
        "dc",
        needs={"identity": "synced_mailbox"},
        finds={"ad_group": lambda r: next(iter(r.member_of), None), "ad_ou": _parent_ou},
    ),
    Step(f"{_AD}.get_ad_group", "dc", needs={"identity": "ad_group"}),
    Step(f"{_AD}.get_group_members", "dc", needs={"group": "ad_group"}),
    Step(f"{_AD}.is_group_member", "dc", needs={"group": "ad_group", "member": "synced_mailbox"}),
    Step(f"{_AD}.get_organizational_unit", "dc", needs={"identity": "ad_ou"}),
)

# Public wrappers the selftest never runs, and why (a test checks that every wrapper is here or in STEPS).
_CHANGES = "changes something"
EXCLUDED: Mapping[str, str] = {
    f"{_AD}.add_group_member": _CHANGES,
    f"{_AD}.remove_group_member": _CHANGES,
    f"{_ADSYNC}.get_server_configuration": "writes an export folder on the Connect server",
    f"{_ADSYNC}.set_scheduler": _CHANGES,
    f"{_ADSYNC}.start_sync_cycle": _CHANGES,
    f"{_CLOUDSYNC}.connect": "needs a person (device-code sign-in)",
    f"{_CLOUDSYNC}.disable_dirsync_accidental_deletion_prevention": _CHANGES,
    f"{_CLOUDSYNC}.export_logs": "turns on verbose tracing and restarts the agent service",
    f"{_CLOUDSYNC}.install_prerequisites": _CHANGES,
    f"{_CLOUDSYNC}.repair_account": _CHANGES,
    f"{_CLOUDSYNC}.restart_job": _CHANGES,
    f"{_CLOUDSYNC}.resume_job": _CHANGES,
    f"{_CLOUDSYNC}.set_job_schema": _CHANGES,
    f"{_CLOUDSYNC}.set_tenant_id": "changes the tenant the module signs in to",
    f"{_CLOUDSYNC}.start_verbose_logs": _CHANGES,
    f"{_CLOUDSYNC}.stop_verbose_logs": _CHANGES,
    f"{_CLOUDSYNC}.suspend_job": _CHANGES,
    f"{_GRAPH}.provision_on_demand": _CHANGES,
    f"{_GRAPH}.restart_job": _CHANGES,
    f"{_GRAPH}.resume_job": _CHANGES,
    f"{_GRAPH}.set_deletion_threshold": _CHANGES,
    f"{_GRAPH}.suspend_job": _CHANGES,
    f"{_EXCHANGE}.clear_previous_mailbox_info": _CHANGES,
    f"{_EXCHANGE}.set_mailbox_attributes": _CHANGES,
    f"{_EXCHANGE}.set_mailbox_cloud_managed": _CHANGES,
    f"{_EXCHANGE}.set_mailbox_email_addresses": _CHANGES,
    f"{_EXCHANGE}.set_organization_config": _CHANGES,
    "psbridge.exchange.bulk.set_cloud_managed_batch": _CHANGES,
}


class SelftestReport(Report):
    """The runbook report of a selftest; `unreachable` names the roles whose target could not be reached."""

    unreachable: tuple[str, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.TRANSPORT if self.unreachable else super().exit_code


# Opens the handle a role's wrappers take (a Session, or a GraphClient for `graph`), for one wrapper's call.
Opener = Callable[[str], contextlib.AbstractContextManager[Any]]


# Which role a recorded command belongs to (its endpoint, then its command), to find the roles a replay has.
_ROLE_COMMANDS = (
    ("connect", re.compile(r"^adsync/", re.I)),
    ("cloudsync-agent", re.compile(r"^cloudsync/", re.I)),
    ("exchange", re.compile(r"^exchange/Connect-ExchangeServer\.ps1$", re.I)),
    ("exo", re.compile(r"^(Connect-ExchangeOnline$|exchange/)", re.I)),
    ("dc", re.compile(r"^(Get|Set|New|Add|Remove)-AD(?!Sync)", re.I)),
)


def recorded_roles(path: str | os.PathLike[str]) -> list[str]:
    """The roles the PSRP recordings at `path` (a file or a directory) hold commands of, in `ORDER`."""
    from psbridge.replay.cassette import load_all

    found: set[str] = set()
    for cassette in load_all(path):
        if cassette.target.configuration_name.lower() == "microsoft.exchange":
            found.add("exchange")
            continue
        for episode in cassette.episodes:
            for statement in episode.key.statements:
                if any(p.name == "OnPremises" for p in statement.params):
                    found.add("exchange")  # Exchange Server through a jump host
                    continue
                found.update(next(([r] for r, pattern in _ROLE_COMMANDS if pattern.match(statement.command)), []))
    return [role for role in ORDER if role in found]


def steps_for(roles: Sequence[str]) -> list[Step]:
    """The rows of these roles, in `ORDER`."""
    unknown = sorted(set(roles) - set(ORDER))
    if unknown:
        raise ValueError(f"no selftest for role {unknown[0]!r}")
    return [s for role in ORDER if role in roles for s in STEPS if s.role == role]


def run_selftest(
    open_role: Opener,
    roles: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    role_args: Mapping[str, Mapping[str, Any]] | None = None,
    on_names: Callable[[Iterable[str]], None] | None = None,
) -> SelftestReport:
    """Run every row of `roles`.

    `labels` names each role's target in the report (the role by default); `role_args` are given to
    each wrapper of a role that takes them (`{"exchange": {"via_jump_host": True}}`); `on_names` sees
    the organization's names a row found (a recording of the run scrubs them).
    """
    found: dict[str, str] = {}
    failed: dict[str, str] = {}  # a value's name -> the row that would have found it, which failed
    checks: list[Check] = []
    unreachable: list[str] = []
    for step in steps_for(roles):
        where = (labels or {}).get(step.role, step.role)
        if step.role in unreachable:
            checks.append(_check(step, where, Status.SKIP, f"not run: {where} could not be reached"))
            continue
        missing = [name for name in step.needs.values() if name not in found]
        if missing:
            why = f" ({failed[missing[0]]} failed)" if missing[0] in failed else ""
            checks.append(_check(step, where, Status.SKIP, f"not applicable: needs {FOUND[missing[0]]}{why}"))
            continue
        function = _wrapper(step)
        shared = {k: v for k, v in (role_args or {}).get(step.role, {}).items() if accepts(function, k)}
        arguments = {**shared, **step.args, **{param: found[name] for param, name in step.needs.items()}}
        try:
            with open_role(step.role) as handle:
                result = function(handle, **arguments)
        except TransportError as exc:
            unreachable.append(step.role)
            checks.append(_error_check(step, where, exc))
            continue
        except NotConnectedError as exc:
            summary = f"not applicable: AADCloudSyncTools is not signed in on this session ({exc})"
            checks.append(_check(step, where, Status.SKIP, summary))
            continue
        except PsbridgeError as exc:
            checks.append(_error_check(step, where, exc))
            failed.update(dict.fromkeys(step.finds, step.name))
            continue
        for name, read in step.finds.items():
            value = read(result)
            if value and name not in found:
                found[name] = value
        if step.names is not None and on_names is not None:
            on_names(step.names(result))
        checks.append(_check(step, where, Status.PASS, f"returned {_returned(result)}"))
    return SelftestReport(runbook="selftest", checks=tuple(checks), unreachable=tuple(unreachable))


def _wrapper(step: Step) -> Callable[..., Any]:
    module, _, name = step.wrapper.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def _returned(result: Any) -> str:
    if isinstance(result, list):
        kinds = sorted({type(item).__name__ for item in result})
        return f"{len(result)} {' or '.join(kinds) if kinds else 'objects'}"
    return type(result).__name__


def _check(step: Step, where: str, status: Status, summary: str, evidence: dict[str, Any] | None = None) -> Check:
    return Check(name=step.name, status=status, summary=summary, evidence=evidence or {}, target=where)


def _error_check(step: Step, where: str, exc: PsbridgeError) -> Check:
    if isinstance(exc, UnexpectedOutputError):
        check = _check(step, where, Status.FAIL, "the output did not validate", unexpected_output(exc))
        return check.model_copy(update={"fix": CONTRIBUTE})
    if isinstance(exc, ReplayMissError):
        summary = f"not recorded: {exc}"
    elif isinstance(exc, ReplayError):
        summary = f"replay: {exc}"
    else:
        summary = str(exc)
    return _check(step, where, Status.FAIL, summary, {"error": type(exc).__name__})


def unexpected_output(exc: UnexpectedOutputError) -> dict[str, Any]:
    """What did not validate, without a value: the model, where and why, and the shape of the raw output."""
    secrets = sorted((s for s in _strings(exc.raw) if len(s) >= 3), key=len, reverse=True)
    evidence: dict[str, Any] = {"error": type(exc).__name__}
    if exc.model is not None:
        evidence |= {"model": exc.model, "location": exc.location, "message": _scrub(exc.reason or "", secrets)}
    else:
        evidence["message"] = _scrub(exc.message, secrets)
    raw = exc.raw
    if isinstance(raw, list | tuple):
        evidence["objects"] = len(raw)
        evidence["shapes"] = [shape(item) for item in raw[:_SHOWN_OBJECTS]]
    elif raw is not None:
        evidence["shape"] = shape(raw)
    return evidence


def shape(value: Any) -> Any:
    """An object's type names and its properties' names, each with the kind of its value (never the value)."""
    if isinstance(value, PSObjectData):
        return {
            "type_names": list(value.type_names),
            "properties": {str(k): kind(v) for k, v in value.properties.items()},
        }
    if isinstance(value, Mapping):
        return {"type_names": [], "properties": {str(k): kind(v) for k, v in value.items()}}
    return kind(value)


def kind(value: Any) -> str:
    """`str`, `int`, `datetime`, `list[str]`, `object` (a JSON object), or an object's first type name."""
    if value is None:
        return "null"
    if isinstance(value, PSObjectData):
        return value.type_names[0] if value.type_names else "PSObject"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple | set | frozenset):
        return f"list[{'|'.join(sorted({kind(v) for v in value}))}]"
    return type(value).__name__


def _strings(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """Every string in a raw object (property values, nested ones), to keep them out of messages. An
    object that refers back to itself (a decoded `Ref`) is walked once."""
    seen = set() if seen is None else seen
    if isinstance(value, str):
        yield value
        return
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, PSObjectData):
        yield from _strings(list(value.properties.values()), seen)
        if value.to_string:
            yield value.to_string
    elif isinstance(value, Mapping):
        yield from _strings(list(value.values()), seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, seen)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<value>")
    return text


def accepts(function: Callable[..., Any], parameter: str) -> bool:
    """Whether a wrapper takes this keyword (e.g. `via_jump_host`)."""
    return parameter in inspect.signature(function).parameters
