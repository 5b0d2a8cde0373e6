"""`psbridge selftest [--target NAME] [--record DIR]`: does psbridge read your own hosts right?

Runs every read-only wrapper of each target's product (`psbridge.selftest.STEPS`) and reports each:
PASS (the model validated), FAIL (with the error; for output that did not validate, its shape: type
names, property names and each value's type, never a value) or SKIP (not applicable, and why).
Without --target: every target of the config file, and Cloud Sync over Microsoft Graph when Graph is
configured; under `--replay DIR`, also every role DIR has recordings for. `--record DIR` writes what
each live target answered to DIR/<target>.yaml (scrubbed, `origin: recorded`).

Exit codes, as for the runbooks: 0 every wrapper passed (or was not applicable), 1 any failed, 2 bad
input or a missing target, 3 a target could not be reached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from psbridge.cli import terminal
from psbridge.errors import InputError

if TYPE_CHECKING:
    from psbridge.config import Config, Target
    from psbridge.replay.cassette import ScrubMap
    from psbridge.targets import Targets

GRAPH = "graph"  # psbridge.selftest.GRAPH, without importing it for --help
EXO_REST = "exo-rest"  # psbridge.selftest.EXO_REST


@click.command("selftest")
@click.option(
    "--target", "name", metavar="NAME",
    help="Check this target only (a name or role of the config file; `graph`: Cloud Sync over Microsoft Graph). "
    "[default: every target]",
)  # fmt: skip
@click.option(
    "--record", "record_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
    help="Write what each live target answered to DIR/<target>.yaml, scrubbed, to review and contribute.",
)  # fmt: skip
@click.pass_context
def selftest(ctx: click.Context, name: str | None, record_dir: Path | None) -> None:
    """Run every read-only wrapper against your targets and report, per wrapper, PASS, FAIL (with the shape of
    the output that did not validate: type and property names, never values) or SKIP (not applicable).

    Exit code 0 when every wrapper passes, 1 when any fails, 2 bad input or a missing target, 3 a target
    is unreachable.
    """
    from psbridge.cli.runbooks import emit_report
    from psbridge.selftest import run_selftest

    params = ctx.obj.params
    if record_dir is not None and (params["replay"] or params["record"]):
        raise click.UsageError("selftest --record records live targets: it excludes --replay and the global --record")
    if ctx.find_root().get_parameter_source("host") == ParameterSource.COMMANDLINE:
        raise click.UsageError("selftest checks the config file's targets (see psbridge config path), not --host")
    labels = _targets(ctx, name or params["target"])
    with _Sources(ctx, labels, record_dir) as sources:
        report = run_selftest(
            sources.open, list(labels), labels=labels, role_args=sources.role_args(), on_names=sources.scrub_names
        )
    emit_report(ctx, report)


def _targets(ctx: click.Context, name: str | None) -> dict[str, str]:
    """The roles to check, each with the target (name) that serves it."""
    from psbridge.cli.graph_options import graph_available
    from psbridge.config import ROLES

    replay = ctx.obj.params["replay"]
    config: Config | None = ctx.obj.own_config()
    if name is not None:
        if name == GRAPH and (config is None or config.find(GRAPH) is None):
            if not graph_available(ctx):
                raise InputError(
                    "no Microsoft Graph to check: configure app-only credentials (PSBRIDGE_GRAPH_TENANT_ID, "
                    "PSBRIDGE_GRAPH_CLIENT_ID, a certificate or secret) or the config file's [graph] table"
                )
            return {GRAPH: GRAPH}
        if replay and name in ROLES and (config is None or config.find(name) is None):
            return {name: name}
        target = (config or ctx.obj.config()).target(name)  # TargetMissingError: exit 2, one line
        return {_role(target): target.name}
    chosen = {
        _role(found): found.name for role in ROLES if config is not None and (found := config.find(role)) is not None
    }
    if replay:
        from psbridge.selftest import recorded_roles

        chosen |= {role: role for role in recorded_roles(replay) if role not in chosen}
        if ctx.obj.targets().has_exo_rest():
            chosen.setdefault(EXO_REST, EXO_REST)
    if graph_available(ctx):
        chosen[GRAPH] = GRAPH
    if not chosen:
        raise InputError("nothing to check: the config file declares no targets (see psbridge config path)")
    return chosen


def _role(target: Target) -> str:
    """The selftest role a target serves: an exo target over REST has rows of its own."""
    return EXO_REST if target.role == "exo" and target.via == "rest" else target.role


class _Sources:
    """What each role's wrappers take, from the run's `Targets`. Live: one session per target for the run
    (with --record DIR, from a Targets that records each target to DIR/<target>.yaml). Replayed: a new
    session per wrapper, since a replay serves each recorded answer once per session and each wrapper is
    checked as if run on its own."""

    def __init__(self, ctx: click.Context, labels: dict[str, str], record_dir: Path | None) -> None:
        self.ctx = ctx
        self.labels = labels
        self.params = ctx.obj.params
        self.scrub: ScrubMap | None = None
        self.targets: Targets = ctx.obj.targets()
        self.recording: Targets | None = None
        if record_dir is not None:
            from psbridge.cli.main import scrub_map
            from psbridge.targets import Targets

            self.scrub = scrub_map(self.params["scrub"])
            self.recording = Targets(
                self.targets.config, record=record_dir, record_mode="rewrite", scrub=self.scrub,
                timeout=self.targets.timeout,
            )  # fmt: skip
            if GRAPH in labels:
                terminal.warning("selftest --record records PSRP targets, not Graph")

    def __enter__(self) -> _Sources:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.recording is not None:
            self.recording.close()  # writes the recordings

    def role_args(self) -> dict[str, dict[str, Any]]:
        """An Exchange Server reached through a jump host is asked through it (`via_jump_host`)."""
        name = self.labels.get("exchange")
        config = self.ctx.obj.own_config()
        target = config.find(name) if name is not None and config is not None else None
        return {"exchange": {"via_jump_host": True}} if target is not None and target.via is not None else {}

    def scrub_names(self, names: Iterable[str]) -> None:
        """The organization's domains become domainN.example in the recordings."""
        if self.scrub is None:
            return
        for name in names:
            if name and name not in self.scrub.pairs:
                self.scrub.add(name, f"domain{len(self.scrub.pairs) + 1}.example")

    @contextlib.contextmanager
    def open(self, role: str) -> Iterator[Any]:
        name = self.labels.get(role, role)
        if role == GRAPH:
            with self._graph() as client:
                yield client
        elif role == EXO_REST:
            with self.targets.open_exo_rest() as client:  # afresh for each wrapper, as a replayed session is
                yield client
        elif self.params["replay"]:
            with self.targets.open(name) as session:
                yield session
        else:
            yield (self.recording or self.targets).session(name)

    @contextlib.contextmanager
    def _graph(self) -> Iterator[Any]:
        from psbridge.cli.graph_options import graph_client

        if not self.params["replay"]:
            yield graph_client(self.ctx)
            return
        with self.targets.open_graph() as client:  # afresh for each wrapper, as a replayed session is
            yield client
