"""Contract tests, napalm style: what every public wrapper and every recording must satisfy.

1. `__all__` of psbridge and of each product package is sorted and complete.
2. Every public wrapper has a recording of the command it sends, up to date with its script text.
3. Every recorded episode replays through the real wrapper that sends it, into a validated model.
4. Every recording file loads, says where it came from, and synthetic ones regenerate from their source;
   Graph HTTP cassettes (`<recordings>/graph/*.yaml`) too.

The wrappers come from an explicit registry, not from file names: `PRODUCTS` lists the product
packages, and a product's wrappers are the functions its `__all__` exports that take a Session first
(`NOT_WRAPPERS` says which of those are something else, and why). A guard fails when a product module
defines such a function that neither the registry nor a Cloud Sync backend reaches. What a wrapper
sends is observed by running it against a MockTransport. The Cloud Sync backends
(`psbridge.cloudsync.backend.BACKENDS`) have their own contract, over both backends, in
tests/test_contract_backends.py.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import psbridge
import psbridge.ad
import psbridge.adsync
import psbridge.cloudsync
import psbridge.errors
import psbridge.exchange
import psbridge.exchange.connection
import psbridge.targets
from psbridge import ps
from psbridge.cloudsync.backend import BACKENDS
from psbridge.command import Command
from psbridge.exchange.rest.client import RECORDINGS_DIR as EXO_REST_DIR
from psbridge.graph.client import GraphClient
from psbridge.models import Planned
from psbridge.ps import script_digest
from psbridge.replay import synthetic
from psbridge.replay.cassette import ORIGINS, Cassette
from psbridge.replay.graph_http import GRAPH_DIR, author_graph_cassette
from psbridge.replay.keys import Param, Statement, canonical
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult, Streams
from psbridge.transport.mock import MockTransport

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "recorded_sessions"
SOURCES = RECORDINGS / "sources"

# Arguments, beyond the session, for wrappers that need some to be called at all (by wrapper
# qualname, e.g. "psbridge.exchange.functions.get_mailbox": {"identity": "user@example"}).
# Wrappers whose extra parameters all have defaults need no entry.
EXTRA_ARGS: dict[str, dict[str, Any]] = {
    # Cloud Sync: the demo's two jobs (contoso.example healthy, fabrikam.example quarantined) and tenant.
    "psbridge.cloudsync.functions.disable_dirsync_accidental_deletion_prevention": {
        "tenant_id": "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"
    },
    "psbridge.cloudsync.functions.get_job_schema": {
        "job_id": "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
    },
    "psbridge.cloudsync.functions.get_job_scope": {
        "job_id": "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
    },
    "psbridge.cloudsync.functions.invoke_graph_query": {
        "uri": "https://graph.microsoft.com/beta/servicePrincipals"
        "?filter=applicationTemplateId eq '1a4721b3-e57f-4451-ae87-ef078703ec94'"
    },
    "psbridge.cloudsync.functions.restart_job": {
        "job_id": "AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14"
    },
    "psbridge.cloudsync.functions.resume_job": {
        "job_id": "AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14"
    },
    "psbridge.cloudsync.functions.set_job_schema": {
        "job_id": "AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14",
        "schema": yaml.safe_load((SOURCES / "demo" / "cloudsync.yaml").read_text(encoding="utf-8"))["x-objects"][
            "schema_after"
        ],
    },
    "psbridge.cloudsync.functions.set_tenant_id": {"tenant_id": "4f6b2f9c-3c1e-4b8a-9d2e-7a1c5e0b9d13"},
    "psbridge.cloudsync.functions.suspend_job": {
        "job_id": "AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60"
    },
    "psbridge.cloudsync.unsupported.remove_group_members": {"group_object_id": "0b7e4c2a-5d1f-4e8a-9c3b-6a2f1d0e8b47"},
    "psbridge.adsync.functions.get_server_configuration": {"path": "C:\\psbridge\\export"},
    "psbridge.adsync.interactive.enable_export_deletion_threshold": {"deletion_threshold": 500},
    "psbridge.adsync.interactive.set_aad_password_sync_state": {"enabled": True},
    # Exchange: the demo's mailboxes (Adele cloud-managed), unclean mail user Dana, Exchange Server recipients.
    "psbridge.exchange.functions.clear_previous_mailbox_info": {
        "identity": "dana@contoso.example",
        "confirm_irreversible": True,
    },
    "psbridge.exchange.functions.get_mailbox": {"identity": "adele@contoso.example"},
    "psbridge.exchange.functions.get_server_mail_user": {"identity": "pat@fabrikam.example"},
    "psbridge.exchange.functions.get_server_mailbox": {"identity": "dana@contoso.example"},
    "psbridge.exchange.functions.get_server_remote_mailbox": {"identity": "adele@contoso.example"},
    "psbridge.exchange.functions.get_user": {"identity": "dana@contoso.example"},
    "psbridge.exchange.functions.set_mailbox_attributes": {
        "identity": "adele@contoso.example",
        "attributes": {"CustomAttribute1": "Sales"},
    },
    "psbridge.exchange.functions.set_mailbox_cloud_managed": {"identity": "adele@contoso.example", "enabled": True},
    "psbridge.exchange.functions.set_mailbox_email_addresses": {
        "identity": "adele@contoso.example",
        "add": ["adele.vance@contoso.example"],
    },
    "psbridge.exchange.functions.set_organization_config": {"cloud_managed_by_default": True},
    # Active Directory: the demo's user Dana, its licensing group and its Sales OU (recorded_sessions/demo/ad.yaml).
    "psbridge.ad.functions.add_group_member": {"group": "Licensing-M365-E3", "member": "dana@contoso.example"},
    "psbridge.ad.functions.get_ad_group": {"identity": "Licensing-M365-E3"},
    "psbridge.ad.functions.get_ad_user": {"identity": "dana@contoso.example"},
    "psbridge.ad.functions.get_group_members": {"group": "Licensing-M365-E3"},
    "psbridge.ad.functions.get_organizational_unit": {"identity": "OU=Sales,DC=contoso,DC=example"},
    "psbridge.ad.lookup.find_user_dn": {"identity": "dana@contoso.example"},
    "psbridge.ad.scope.check_ous": {"dns": ["OU=Sales,DC=contoso,DC=example"]},
    "psbridge.ad.functions.is_group_member": {"group": "Licensing-M365-E3", "member": "dana@contoso.example"},
    "psbridge.ad.functions.remove_group_member": {"group": "Licensing-M365-E3", "member": "dana@contoso.example"},
    # Bulk rollout (recorded_sessions/rollout, generated by scripts/make_rollout_scenario.py): its filter,
    # and its rollback batch of user0001..0060.
    "psbridge.exchange.bulk.get_mailbox_identities": {
        "filter": "RecipientTypeDetails -eq 'UserMailbox' -and IsDirSynced -eq $true"
    },
    "psbridge.exchange.bulk.set_cloud_managed_batch": {
        "identities": [f"user{n:04d}@contoso.example" for n in range(1, 61)],
        "enabled": False,
    },
}


# -- the registry ---------------------------------------------------------------------------------

# The product packages. A product's wrappers are the functions its `__all__` exports that take a Session first.
PRODUCTS: tuple[types.ModuleType, ...] = (
    psbridge.ad,
    psbridge.adsync,
    psbridge.cloudsync,
    psbridge.exchange,
    psbridge.targets,
)

# Functions a product exports that take a Session first but wrap no command of their own, and why.
NOT_WRAPPERS = {
    "psbridge.exchange.connection.connect_exchange_online": "a runspace sign-in: see SESSION_COMMANDS",
    "psbridge.exchange.connection.connect_exchange_server": "a runspace sign-in: see SESSION_COMMANDS",
    "psbridge.adsync.migration.pause_for_cutover": "set_scheduler, read back (tests/test_migration_connect.py)",
    "psbridge.adsync.migration.resume_after_rollback": "set_scheduler, read back (tests/test_migration_connect.py)",
    "psbridge.exchange.rollout.rollout_cloud_managed": "a rollout over the bulk wrappers (tests/test_cli_rollout.py)",
}

# Public functions of product modules that take a GraphClient first but are no backend operation: the Graph-side
# migration steps, checked against recorded_sessions/runbooks/migration-configure by
# tests/test_cloudsync_configure.py (dry runs, idempotence, read-merge-write, deadlines).
GRAPH_STEPS = frozenset(
    {
        "psbridge.cloudsync.configure.create_configuration",
        "psbridge.cloudsync.configure.get_attribute_mappings",
        "psbridge.cloudsync.configure.get_configuration",
        "psbridge.cloudsync.configure.set_attribute_mappings",
        "psbridge.cloudsync.configure.set_ou_scope",
        "psbridge.cloudsync.configure.start_and_watch",
    }
)

# Public functions of product modules that take a Session first and are the wrappers' shared machinery,
# checked through the wrappers that use them.
BUILDING_BLOCKS = frozenset(
    {
        "psbridge.cloudsync.jobs.control",
        "psbridge.cloudsync.jobs.read_one",
        "psbridge.cloudsync.runner.read_jobs",
        "psbridge.cloudsync.runner.run",
        "psbridge.exchange.backend.backend_for",
    }
)

# Per-runspace setup and teardown (sign-ins), which the wrappers never send themselves.
SESSION_COMMANDS: tuple[Command, ...] = psbridge.exchange.connection.SESSION_COMMANDS

# Changes a wrapper sends only after its reads found something: answered with nothing, as in _sent, it
# stops before them. The membership wrappers of psbridge.ad send these once the user and the group exist.
WRITE_COMMANDS = (Statement("Add-ADGroupMember"), Statement("Remove-ADGroupMember"))

# Scripts a wrapper sends only once its first command has answered, as WRITE_COMMANDS: with `fetch_to`,
# adsync.get_server_configuration copies the zip its export made (psbridge.files.fetch) and then removes it;
# adsync.set_scheduler writes once its read found a setting to change.
FOLLOW_UP_SCRIPTS = tuple(
    Statement(name, script_digest(ps.load(name)))
    for name in ("common/Read-FileChunk.ps1", "adsync/Remove-ExportArchive.ps1", "adsync/Set-Scheduler.ps1")
)


# The Exchange Online functions take a Session or a REST client (psbridge.exchange.backend): a Session is
# what this registry runs them with; tests/test_contract_exo_backends.py runs them over both.
_EITHER_BACKEND = "ExchangeOnline"


def _takes(fn: Callable[..., Any], kind: type) -> bool:
    """Whether `fn`'s first parameter is annotated `kind` (the class, or its name under postponed annotations),
    or, for a Session, psbridge.exchange.backend.ExchangeOnline (a Session or a REST client)."""
    parameters = list(inspect.signature(fn).parameters.values())
    either = (_EITHER_BACKEND,) if kind is psbridge.Session else ()
    return bool(parameters) and parameters[0].annotation in (kind, kind.__name__, *either)


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__name__}"


def _wrappers() -> list[Callable[..., Any]]:
    exported = [getattr(package, name) for package in PRODUCTS for name in package.__all__]
    found = {
        _qualname(fn): fn
        for fn in exported
        if inspect.isfunction(fn) and _takes(fn, psbridge.Session) and _qualname(fn) not in NOT_WRAPPERS
    }
    return [found[name] for name in sorted(found)]


WRAPPERS = _wrappers()


def _defined_in(module: types.ModuleType, predicate: Callable[[Any], bool]) -> dict[str, Any]:
    """Public members that `module` itself defines (not ones it imports)."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_") and predicate(obj) and getattr(obj, "__module__", None) == module.__name__
    }


def _product_modules(package: types.ModuleType) -> list[types.ModuleType]:
    """Every public module of a product package: for the guard only, the registry decides what is a wrapper."""
    names = [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return [importlib.import_module(n) for n in names if not n.rsplit(".", 1)[-1].startswith("_")]


def _call(fn: Callable[..., Any], session: psbridge.Session) -> Any:
    extra = EXTRA_ARGS.get(_qualname(fn), {})
    params = list(inspect.signature(fn).parameters.values())[1:]
    missing = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and p.name not in extra
    ]
    if missing:
        pytest.fail(
            f"{_qualname(fn)} needs {', '.join(missing)} besides the session: add them to EXTRA_ARGS in {__file__}"
        )
    return fn(session, **extra)


def _run(fn: Callable[..., Any], session: psbridge.Session) -> tuple[Any, list[Any]]:
    """A wrapper's result and its items, read to the end: a lazy listing sends its commands as it is read."""
    result = _call(fn, session)
    if isinstance(result, list):
        return result, result
    if isinstance(result, Iterable) and not isinstance(result, BaseModel | tuple | str | dict):
        return result, list(result)
    return result, [result]


def _statement(command: Command) -> Statement:
    """The key statement a recording holds for a command (name and script digest; parameters ignored)."""
    if command.is_script:
        return Statement(command.name, script_digest(ps.load(command.name)))
    return Statement(command.name)


def _same_command(a: Statement, b: Statement) -> bool:
    return a.command.lower() == b.command.lower() and a.script_sha256 == b.script_sha256


def _key_statement(command: Command) -> Statement:
    """The key statement the replay server builds for a command: name, script digest and parameters.

    One packaged script may serve several wrappers (cloudsync's does, told apart by its parameters),
    so which episodes belong to a wrapper's call is decided on the whole key.
    """
    params = tuple(
        Param(p.name, None, True) if p.secret else Param(p.name, canonical(p.value)) for p in command.parameters
    )
    return dataclasses.replace(_statement(command), params=params)


@functools.cache
def _observed(fn: Callable[..., Any]) -> tuple[tuple[Command, ...], psbridge.PsbridgeError | None]:
    """Every command a wrapper sends when each call returns no output (until it gives up), and what it raised."""

    def empty(command: Command) -> InvocationResult:
        return InvocationResult(command=command.display(), output=(), streams=Streams())

    transport = MockTransport(empty, target="contract.example")
    session = psbridge.Session(transport=transport, retry=psbridge.RetryPolicy(attempts=1))
    # No output is not a valid answer for every wrapper; what it sent is what counts.
    try:
        _run(fn, session)
    except psbridge.PsbridgeError as exc:
        return tuple(transport.calls), exc
    return tuple(transport.calls), None


def _sent(fn: Callable[..., Any]) -> tuple[Command, ...]:
    return _observed(fn)[0]


def _is_graph(path: Path) -> bool:
    """An HTTP cassette: Graph's, or Exchange Online's REST client's (psbridge.exchange.rest)."""
    return path.parent.name in (GRAPH_DIR, EXO_REST_DIR)


def _recording_files() -> list[Path]:
    """The PSRP recordings (Graph HTTP cassettes are checked on their own, in part 4)."""
    return sorted(p for p in RECORDINGS.rglob("*.yaml") if SOURCES not in p.parents and not _is_graph(p))


RECORDING_FILES = _recording_files()
GRAPH_FILES = sorted(p for p in RECORDINGS.rglob("*.yaml") if SOURCES not in p.parents and _is_graph(p))


def _rel(path: Path) -> str:
    return path.relative_to(RECORDINGS).as_posix()


# -- 1. __all__ ------------------------------------------------------------------------------------


def _check_all(module: types.ModuleType) -> None:
    names = list(module.__all__)
    assert names == sorted(names), f"{module.__name__}.__all__ is not sorted"
    assert len(names) == len(set(names)), f"{module.__name__}.__all__ has duplicates"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{module.__name__}.__all__ lists names the module lacks: {missing}"
    reexported = {
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and str(getattr(obj, "__module__", "")).startswith("psbridge")
    }
    unlisted = sorted(reexported - set(names))
    assert not unlisted, f"{module.__name__} re-exports {unlisted} without listing them in __all__"


def test_psbridge_all_is_sorted_and_complete() -> None:
    _check_all(psbridge)


def test_every_exception_is_exported() -> None:
    exceptions = _defined_in(psbridge.errors, lambda o: inspect.isclass(o) and issubclass(o, BaseException))
    assert "PsbridgeError" in exceptions  # the discovery itself works
    unlisted = sorted(set(exceptions) - set(psbridge.__all__))
    assert not unlisted, f"exceptions missing from psbridge.__all__: {unlisted}"
    for name, cls in exceptions.items():
        assert getattr(psbridge, name) is cls, f"psbridge.{name} is not psbridge.errors.{name}"
        assert issubclass(cls, psbridge.PsbridgeError), f"{name} is outside the PsbridgeError tree"


def test_the_registry_finds_the_wrappers() -> None:
    names = [_qualname(w) for w in WRAPPERS]
    for known in ("psbridge.adsync.functions.get_scheduler", "psbridge.exchange.mailboxes.iter_mailboxes"):
        assert known in names  # the registry itself works
    for name in NOT_WRAPPERS:
        module, _, function = name.rpartition(".")
        assert _takes(getattr(importlib.import_module(module), function), psbridge.Session), f"{name} is stale"


def test_every_product_is_in_the_registry() -> None:
    """A package of psbridge that exports a function taking a Session is a product: PRODUCTS lists it."""
    for info in pkgutil.iter_modules(psbridge.__path__, "psbridge."):
        package = importlib.import_module(info.name)
        exported = [getattr(package, name) for name in getattr(package, "__all__", ())]
        if any(inspect.isfunction(fn) and _takes(fn, psbridge.Session) for fn in exported):
            assert package in PRODUCTS, f"{info.name} exports wrappers: add it to PRODUCTS in {__file__}"


@pytest.mark.parametrize("package", PRODUCTS, ids=lambda p: p.__name__)
def test_every_wrapper_is_in_the_registry(package: types.ModuleType) -> None:
    """A product module's public function that takes a Session is exported (so registered), or machinery;
    one that takes a GraphClient is an operation of a Cloud Sync backend."""
    registered = {_qualname(w) for w in WRAPPERS} | set(NOT_WRAPPERS) | BUILDING_BLOCKS
    operations = {name for b in BACKENDS.values() if _takes(b, GraphClient) for name in _defined_in_class(b)}
    for module in _product_modules(package):
        for name, fn in _defined_in(module, inspect.isfunction).items():
            if _takes(fn, psbridge.Session):
                assert _qualname(fn) in registered, (
                    f"{_qualname(fn)} takes a Session but is not exported by {package.__name__} (so the contract "
                    f"tests skip it): export it, or list it in NOT_WRAPPERS or BUILDING_BLOCKS in {__file__}"
                )
            if _takes(fn, GraphClient):
                assert name in operations or _qualname(fn) in GRAPH_STEPS, (
                    f"{_qualname(fn)} takes a GraphClient but no backend on a GraphClient runs it, so no contract "
                    "test checks it: add it to psbridge.cloudsync.backend.GraphBackend"
                )


def _defined_in_class(cls: type) -> set[str]:
    return {name for name, member in vars(cls).items() if not name.startswith("_") and inspect.isfunction(member)}


@pytest.mark.parametrize("package", PRODUCTS, ids=lambda p: p.__name__)
def test_product_all_is_sorted_and_complete(package: types.ModuleType) -> None:
    _check_all(package)
    models = importlib.import_module(f"{package.__name__}.models")
    public_models = _defined_in(models, lambda o: inspect.isclass(o) and issubclass(o, BaseModel))
    unlisted = sorted(set(public_models) - set(package.__all__))
    assert not unlisted, f"models missing from {package.__name__}.__all__: {unlisted}"


# -- 2. every wrapper has a recording ---------------------------------------------------------------


@functools.cache
def _recorded_statements() -> tuple[tuple[str, Statement], ...]:
    """(file, statement) for every statement of every episode key under recorded_sessions/."""
    return tuple(
        (_rel(path), statement)
        for path in RECORDING_FILES
        for episode in Cassette.load(path).episodes
        for statement in episode.key.statements
    )


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=_qualname)
def test_every_wrapper_has_a_recording(wrapper: Callable[..., Any]) -> None:
    sent, raised = _observed(wrapper)
    if not sent:  # a cmdlet that needs a person at the keyboard is refused before anything is sent
        assert isinstance(raised, psbridge.InteractiveOnlyError), f"{_qualname(wrapper)} sent no command: {raised!r}"
        return
    recorded = _recorded_statements()
    for index, command in enumerate(sent):
        want = _statement(command)
        # The first command exactly as the call in EXTRA_ARGS sends it: what part 3 replays.
        matches = _key_statement(command).matches if index == 0 else functools.partial(_same_command, want)
        if any(matches(got) for _, got in recorded):
            continue
        stale = sorted({f for f, got in recorded if got.command.lower() == want.command.lower()})
        if command.is_script and stale:
            pytest.fail(
                f"{_qualname(wrapper)} sends script {command.name} (sha256 {want.script_sha256}), but its "
                f"recordings in {stale} are of another version of the script: re-record or re-author them"
            )
        pytest.fail(f"{_qualname(wrapper)} sends `{command.display()}`, which no recording under {RECORDINGS} holds")


def test_recorded_scripts_exist_and_are_current() -> None:
    """A recorded script key names a packaged script, and its digest is the script's current one."""
    recorded = _recorded_statements()
    assert recorded, f"no recorded episodes under {RECORDINGS}"
    for where, statement in recorded:
        if statement.script_sha256 is None:
            continue
        assert statement.command in ps.names(), f"{where}: recorded script {statement.command} is not packaged"
        assert statement.script_sha256 == script_digest(ps.load(statement.command)), (
            f"{where}: the recording of {statement.command} is stale (script text changed)"
        )


# -- 3. every model validates every recorded output ---------------------------------------------------


def _returns(fn: Callable[..., Any]) -> type:
    hint = typing.get_type_hints(fn).get("return")
    args = typing.get_args(hint)
    if len(args) == 2 and type(None) in args:  # `X | None`: None stands for an object that is not there
        hint = next(a for a in args if a is not type(None))
    if len(args) == 2 and Planned in args:  # `X | Planned`: Planned is only a dry run's answer (nothing sent)
        hint = next(a for a in args if a is not Planned)
    if typing.get_origin(hint) is list:  # a list of models: each item round-trips below
        hint = list
    assert inspect.isclass(hint), f"{_qualname(fn)} has no class as its return annotation ({hint!r})"
    return hint


def _failed(episode: Any) -> bool:
    """Episodes that end in error records: the wrapper must raise, not return."""
    if any(m.type == "ErrorRecord" for m in episode.messages):
        return True
    from psrpcore.types import PSInvocationState

    from psbridge.replay.server import pipeline_state_of

    return pipeline_state_of(episode.messages[-1].clixml) == int(PSInvocationState.Failed)


@dataclasses.dataclass(frozen=True)
class _Replay:
    path: Path
    wrapper: Callable[..., Any]
    indices: tuple[int, ...]  # positions of the cassette's episodes of the wrapper's first command

    @property
    def id(self) -> str:
        return f"{_rel(self.path)}::{self.wrapper.__name__}"


def _replays() -> list[_Replay]:
    out = []
    for path in RECORDING_FILES:
        cassette = Cassette.load(path)
        for wrapper in WRAPPERS:
            sent = _sent(wrapper)
            if not sent:
                continue
            first = _key_statement(sent[0])
            indices = tuple(
                i
                for i, ep in enumerate(cassette.episodes)
                if len(ep.key.statements) == 1 and first.matches(ep.key.statements[0])
            )
            if indices:
                out.append(_Replay(path, wrapper, indices))
    return out


REPLAYS = _replays()


def test_every_recorded_episode_has_a_wrapper() -> None:
    """No orphan recordings: each episode is the command of some public wrapper."""
    sent = [_statement(c) for w in WRAPPERS for c in _sent(w)]
    sent += [_statement(c) for c in SESSION_COMMANDS]
    sent += WRITE_COMMANDS + FOLLOW_UP_SCRIPTS
    orphans = [
        f"{_rel(path)}: `{ep.key.display()}`"
        for path in RECORDING_FILES
        for ep in Cassette.load(path).episodes
        if not any(_same_command(s, got) for s in sent for got in ep.key.statements)
    ]
    assert not orphans, f"recorded episodes no public wrapper sends: {orphans}"
    assert REPLAYS, "no recorded episode replays through any wrapper"


@pytest.mark.parametrize("replay", REPLAYS, ids=lambda r: r.id)
def test_every_model_validates_every_recorded_output(replay: _Replay) -> None:
    returns = _returns(replay.wrapper)
    with recorded_session(replay.path, retry=psbridge.RetryPolicy(attempts=1)) as session:
        # Each call is served the next unplayed episode of each command it sends, in file order. A
        # wrapper may send its first command more than once (read, act, read back), so each call is
        # judged by the episodes it consumed: one that fails means the call must raise.
        episodes = session.transport.server.player.episodes  # type: ignore[attr-defined]
        while pending := [i for i in replay.indices if _unplayed(session, episodes[i])]:
            before = [ep for ep in episodes if _unplayed(session, ep)]
            where = f"{_rel(replay.path)} episode #{pending[0] + 1} via {_qualname(replay.wrapper)}"
            try:
                (result, items), error = _run(replay.wrapper, session), None
            except psbridge.PsbridgeError as exc:
                result, items, error = None, [], exc
            served = [ep for ep in before if not _unplayed(session, ep)]
            assert any(ep is episodes[pending[0]] for ep in served), f"{where} was not served: {error}"
            if any(_failed(ep) for ep in served):
                assert isinstance(error, psbridge.RemoteCommandError), f"{where}: raised {error!r}"
                assert not isinstance(error, psbridge.UnexpectedOutputError), f"{where}: {error}"
                continue
            if error is not None:
                pytest.fail(f"{where} raised {type(error).__name__}: {error}")
            assert isinstance(result, returns), f"{where} returned {type(result).__name__}, not {returns.__name__}"
            for item in items:
                if isinstance(item, BaseModel):
                    assert type(item).model_validate(item.model_dump()) == item, f"{where}: model does not round-trip"
        # Every episode was served exactly once: one more call has nothing left to play.
        with pytest.raises(psbridge.ReplayExhaustedError):
            _run(replay.wrapper, session)


def _unplayed(session: psbridge.Session, episode: Any) -> bool:
    return any(ep is episode for ep in session.transport.server.player.unplayed)  # type: ignore[attr-defined]


# -- 4. recording files ---------------------------------------------------------------------------------


def test_there_are_recordings() -> None:
    assert RECORDING_FILES, f"no recordings under {RECORDINGS}"


@pytest.mark.parametrize("path", RECORDING_FILES, ids=_rel)
def test_recording_loads(path: Path) -> None:
    cassette = Cassette.load(path)
    assert cassette.origin in {"recorded", "synthetic"}
    assert cassette.origin in ORIGINS
    assert cassette.episodes, f"{_rel(path)} holds no episodes"


SYNTHETIC_WITH_SOURCE = [
    p
    for p in RECORDING_FILES
    if (SOURCES / p.relative_to(RECORDINGS)).is_file() and Cassette.load(p).origin == "synthetic"
]


def test_sources_have_recordings() -> None:
    """Every source under recorded_sessions/sources/ has its synthetic recording at the same relative path."""
    sources = sorted(SOURCES.rglob("*.yaml"))
    assert sources, f"no sources under {SOURCES}"
    for source in sources:
        recording = RECORDINGS / source.relative_to(SOURCES)
        assert recording.is_file(), f"{source} has no recording at {recording}"
        authored = GRAPH_WITH_SOURCE if _is_graph(recording) else SYNTHETIC_WITH_SOURCE
        assert recording in authored, f"{recording} has a source but is not synthetic"


@pytest.mark.parametrize("path", SYNTHETIC_WITH_SOURCE, ids=_rel)
def test_synthetic_recording_regenerates_from_its_source(path: Path) -> None:
    source = yaml.safe_load((SOURCES / path.relative_to(RECORDINGS)).read_text(encoding="utf-8"))
    authored = synthetic.author(source)
    normalized = Cassette.from_data(yaml.safe_load(authored.dumps()))
    assert normalized.to_data() == Cassette.load(path).to_data(), (
        f"{_rel(path)} differs from what its source authors: re-run "
        f"`python scripts/author_recording.py {SOURCES / path.relative_to(RECORDINGS)} -o {path}`"
    )


GRAPH_WITH_SOURCE = [
    p
    for p in GRAPH_FILES
    if (SOURCES / p.relative_to(RECORDINGS)).is_file() and yaml.safe_load(p.read_text("utf-8"))["origin"] == "synthetic"
]


def test_there_are_graph_cassettes() -> None:
    assert GRAPH_WITH_SOURCE, f"no synthetic Graph cassettes under {RECORDINGS}/**/{GRAPH_DIR}"


@pytest.mark.parametrize("path", GRAPH_FILES, ids=_rel)
def test_graph_cassette_loads(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["origin"] in ORIGINS
    assert data["interactions"], f"{_rel(path)} holds no interactions"


@pytest.mark.parametrize("path", GRAPH_WITH_SOURCE, ids=_rel)
def test_graph_cassette_regenerates_from_its_source(path: Path) -> None:
    source = yaml.safe_load((SOURCES / path.relative_to(RECORDINGS)).read_text(encoding="utf-8"))
    assert yaml.safe_load(author_graph_cassette(source)) == yaml.safe_load(path.read_text(encoding="utf-8")), (
        f"{_rel(path)} differs from what its source authors: re-run "
        f"`python scripts/author_recording.py {SOURCES / path.relative_to(RECORDINGS)} -o {path}`"
    )
