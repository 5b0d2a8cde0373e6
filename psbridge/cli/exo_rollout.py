"""`psbridge exo rollout`: make the Exchange attributes of many mailboxes cloud-managed, resumably.

Mirrors `psbridge.exchange.rollout.rollout_cloud_managed`. It signs in as the `exo` group's options
say. It changes mailboxes, so it follows `psbridge.cli.confirm` with a plan of its own: without `--yes`
or `--dry-run` it prints the plan (`psbridge.exchange.rollout_plan.plan_rollout`: target, direction, how
many mailboxes, batches, pace, an estimate of the time, and what the journal says is done, with no
mailbox read and nothing sent), then asks y/N at a terminal, else exits 2. `--dry-run` is the rollout's
own dry run, which reads each mailbox. `--journal` is required: re-run the same command with the same
journal after an interruption and it finishes what is left. Interrupted (Ctrl+C, or SIGTERM as cron
and Ansible send it) once its batches started, it prints the report so far, the mailboxes not finished
as Unfinished, and exits 130 (143 for SIGTERM). Progress goes to stderr: a bar on a terminal, otherwise one
`psbridge.exo.rollout.progress` event per batch. Exit code 0 when every mailbox is changed or already
set, 1 when any failed, is unfinished or was reverted (the report lists them).

Files are checked before the first mailbox is read: the identities file, the journal and the
`--csv` report must be regular files (or, for the journal and the report, not exist yet), and the
report may not be the journal or the identities file (compared as files, through links and other
spellings). The report is started before the rollout (a temporary file beside it, its header
written and synced, so a missing folder or a full disk shows now) and moved into place at the end.
Should it still fail then, the JSON report is printed all the same, and the exit code is 74.
`--timeout` is each batch's deadline (by default the REST API's 15 minutes).

`psbridge exo --via rest rollout ...` runs the same rollout over Exchange Online's REST endpoint, with no jump host
(`exo_backend`: the run's ExoRestClient; batches as `$batch` requests of 10, psbridge.exchange.rest.bulk), with the
same journal, plan, report and exit codes; `--parallel N` then opens N-1 more clients with the same sign-in.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli import terminal
from psbridge.cli.confirm import dry_run_option, run_confirmed, yes_option
from psbridge.cli.exo import exo_backend, exo_via
from psbridge.cli.output import emit
from psbridge.cli.params import Int32, Seconds
from psbridge.defaults import DEFAULT_BATCH_SIZE, DEFAULT_PACE_S
from psbridge.errors import InputError, LocalWriteError

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.exchange.rest.client import ExoRestClient
    from psbridge.exchange.rollout import RolloutProgress, RolloutReport
    from psbridge.exchange.rollout_plan import RolloutPlan

CSV_COLUMNS = (
    "identity",
    "outcome",
    "attempts",
    "before",
    "error_class",
    "error_type",
    "error_message",
    "from_journal",
)


@click.command("rollout")
@click.option(
    "--identities", "identities_file", metavar="FILE|-",
    help="Mailboxes to switch, one identity (UPN or GUID) per line; - reads stdin. Blank and # lines are skipped.",
)  # fmt: skip
@click.option("--filter", "opath", metavar="OPATH", help="Instead: every mailbox this OPATH filter selects.")
@click.option("--disable", is_flag=True, help="Set IsExchangeCloudManaged to False: back to on-premises management.")
@click.option(
    "--journal", required=True, type=click.Path(dir_okay=False),
    help="JSON-lines journal of every outcome; re-run with the same file to resume.",
)  # fmt: skip
@click.option("--batch-size", type=Int32(), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option(
    "--pace", "pace_s", type=Seconds(), default=DEFAULT_PACE_S, show_default=True,
    help="Seconds to pause after each Set-Mailbox, on the jump host; micro-delay warnings raise it.",
)  # fmt: skip
@click.option(
    "--retry-wait", "retry_wait_s", type=Seconds(), default=30.0, show_default=True,
    help="Seconds before retrying transient failures; doubles each time (up to 10x).",
)  # fmt: skip
@click.option("--retry-failed", is_flag=True, help="Also retry mailboxes the journal records as failed.")
@click.option(
    "--parallel", type=Int32(), default=1, show_default=True,
    help="Sessions writing at once (1 to 3), each signed in and taking batches in turn; live runs only.",
)  # fmt: skip
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write every outcome to this CSV file.")
@dry_run_option
@yes_option
@click.pass_context
def rollout(
    ctx: click.Context,
    /,
    identities_file: str | None,
    opath: str | None,
    disable: bool,
    journal: str,
    batch_size: int,
    pace_s: float,
    retry_wait_s: float,
    retry_failed: bool,
    parallel: int,
    csv_path: str | None,
    dry_run: bool,
    yes: bool,
) -> int:
    """Switch IsExchangeCloudManaged on many mailboxes, in batches, with a resumable journal.

    Without --yes or --dry-run: the plan (how many mailboxes, batches, an estimate of the time, what the
    journal says is done; no mailbox is read), then y/N at a terminal, else exit 2. --dry-run reads each
    mailbox and reports which would change.

    Exit code 0 when every mailbox is changed or already set (or, with --dry-run, would change),
    1 when any failed, is unfinished or was switched back since (Reverted); re-run with the same
    --journal to finish or retry. 2 for bad input or not confirmed; 74 for a --csv that could not be
    written at the end (the report is printed all the same). Interrupted (Ctrl+C: 130, SIGTERM: 143), it prints
    the report so far, the mailboxes not finished as Unfinished. The global --timeout is each batch's deadline.
    --parallel N opens N-1 more sessions to the jump host (each signs in to Exchange Online), or with --via rest
    N-1 more REST clients, that take batches from the same queue; the journal stays one file, resumable as ever.
    """
    if (identities_file is None) == (opath is None):
        raise click.UsageError("give the mailboxes: --identities FILE (- for stdin) or --filter OPATH")
    from psbridge.safeio import regular_file

    regular_file(journal, "journal")
    identities = _read_identities(identities_file) if identities_file is not None else None
    from psbridge.exchange.rollout import plan_pacing
    from psbridge.exchange.rollout_parallel import check_parallel

    timeout = ctx.obj.params["timeout"] if "timeout" in ctx.obj.explicit else None
    plan_pacing(batch_size, pace_s, timeout)  # a timeout a batch cannot keep is refused before signing in
    check_parallel(parallel)
    if parallel > 1 and (ctx.obj.params["replay"] or ctx.obj.params["record"]):
        raise click.UsageError("--parallel is for live runs: a recording holds one session")
    common: dict[str, Any] = {
        "identities": identities, "filter": opath, "enabled": not disable, "journal": journal,
        "batch_size": batch_size, "pace_s": pace_s, "retry_failed": retry_failed, "timeout": timeout,
    }  # fmt: skip

    def act(dry: bool) -> Any:
        if dry and not dry_run:  # the plan before the question: from the arguments and the journal, no mailbox read
            return _plan(ctx, {**common, "parallel": parallel})
        return _run(ctx, common, dry_run=dry, retry_wait_s=retry_wait_s, csv_path=csv_path, source=identities_file,
                    parallel=parallel)  # fmt: skip

    report = run_confirmed(yes=yes, dry_run=dry_run, what="rollout changes mailboxes", act=act, proceed=lambda _: True)
    return 0 if report.succeeded else 1


def _plan(ctx: click.Context, common: dict[str, Any]) -> RolloutPlan:
    """Print the plan (`plan_rollout`): sends nothing; the session (or REST client) is only made, for its target's
    name, the one the run journals."""
    from psbridge.exchange.rollout_plan import plan_rollout

    via = exo_via(ctx)
    target = exo_backend(ctx).target if via == "rest" else ctx.obj.session().target
    plan = plan_rollout(target=target, tenant=_organization(ctx), **common, via=via)
    emit(ctx, plan, _plan_rows(plan))
    return plan


def _run(
    ctx: click.Context,
    common: dict[str, Any],
    *,
    dry_run: bool,
    retry_wait_s: float,
    csv_path: str | None,
    source: str | None,
    parallel: int = 1,
) -> RolloutReport:
    """Run the rollout and print its report. Interrupted (Ctrl+C, SIGTERM) once its batches started, it
    prints the report so far (the mailboxes not finished are Unfinished) and lets the interruption go on,
    whose exit code (130, 143) stands; the journal holds every outcome, so a re-run finishes the rest."""
    from psbridge.exchange.rollout import item_retry, rollout_cloud_managed

    stopped: list[RolloutReport] = []
    with contextlib.ExitStack() as stack:
        table = stack.enter_context(_CsvReport.start(csv_path, common["journal"], source)) if csv_path else None
        session = exo_backend(ctx)
        try:
            with _progress(ctx.obj.verbose) as on_progress:
                report = rollout_cloud_managed(
                    session, **common, dry_run=dry_run, on_progress=on_progress, tenant=_organization(ctx),
                    retry=item_retry(retry_wait_s), on_interrupt=stopped.append, parallel=parallel,
                    sessions=_more_sessions(ctx, session) if parallel > 1 else None,
                )  # fmt: skip
        except BaseException:
            for partial in stopped:  # the report so far; then the interruption's own line and exit code
                _emit_report(ctx, partial, table.finish(partial) if table is not None else None, stopping=True)
            raise
        failure = table.finish(report) if table is not None else None
    _emit_report(ctx, report, failure)
    return report


def _more_sessions(ctx: click.Context, first: ExchangeOnline) -> Callable[[], ExchangeOnline]:
    """A factory of sessions like the run's own (`first`): the same endpoint, made by the run's Targets,
    each signed in to Exchange Online as `exo_session` signed in the first; the rollout closes them. Over
    REST, clients like the run's (`_more_rest_clients`)."""
    from psbridge.cli.exo import exo_sign_in
    from psbridge.session import Session

    if not isinstance(first, Session):
        return _more_rest_clients(first)

    sign_in = exo_sign_in(ctx)
    targets = ctx.obj.targets()

    def make() -> Session:
        session: Session = targets.connect(first.options, name=first.target, timeout=first.timeout)
        if sign_in is not None:
            sign_in(session)
        return session

    return make


def _more_rest_clients(first: ExoRestClient) -> Callable[[], ExoRestClient]:
    """A factory of REST clients like `first`: the same tenant, endpoint, wire settings, deadline and retry
    policy, and the same token provider (one sign-in for all, its token shared), each with its own connection.
    The rollout closes them. Live runs only (--parallel is refused under replay and record)."""
    from psbridge.exchange.rest.client import ExoRestClient

    def make() -> ExoRestClient:
        return ExoRestClient(
            first.tokens, tenant_id=first.tenant_id, base_url=first.base_url, timeout=first.timeout,
            retry=first.retry, page_size=first.settings.page_size, anchor=first.settings.anchor,
        )  # fmt: skip

    return make


def _emit_report(
    ctx: click.Context, report: RolloutReport, failure: LocalWriteError | None, *, stopping: bool = False
) -> None:
    emit(ctx, report, _summary(report))
    if failure is None:
        return
    if stopping:  # the interruption's exit code stands; say what became of the file all the same
        terminal.warning(str(failure))
        return
    raise failure  # after the report: the rollout's outcome is printed whatever became of the file


def _read_identities(path: str) -> list[str]:
    if path == "-":
        name = "stdin"
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin is not UTF-8 text (byte {exc.start}): give one identity per line") from None
    else:
        from psbridge.safeio import read_text

        name, text = path, read_text(path, "identities file")
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    identities = [line for line in lines if line and not line.startswith("#")]
    if not identities:
        raise InputError(f"no mailbox identities in {name}")
    return identities


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same file when both exist, else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


class _CsvReport:
    """The --csv report: checked and started before the rollout, moved into place after it.

    `start` refuses a path that is not a regular file, or is the journal or the identities file,
    and writes the header to a temporary file in the report's folder, synced: a missing or read-only
    folder, or a full disk, shows before any mailbox is touched. `finish` writes the rows and moves
    the file over `path`; it returns a failure instead of raising it, so the report is printed first.
    Writes are unbuffered (`psbridge.safeio.append_durably`): nothing is left to fail again on close.
    """

    def __init__(self, path: str, handle: FileIO, temp: str) -> None:
        self.path, self.handle, self.temp = path, handle, temp

    @classmethod
    @contextmanager
    def start(cls, path: str, journal: str, identities: str | None) -> Iterator[_CsvReport]:
        from psbridge.safeio import regular_file

        regular_file(path, "--csv report")
        for other, what in ((journal, "the journal"), (identities, "the identities file")):
            if other is not None and other != "-" and _same_file(path, other):
                raise InputError(f"--csv {path} is {what} ({other}): give the report a path of its own")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise InputError(f"cannot write --csv report {path}: permission denied")
        folder = os.path.dirname(os.path.abspath(path))
        try:
            fd, temp = tempfile.mkstemp(prefix=".psbridge-csv-", suffix=".tmp", dir=folder)
        except OSError as exc:
            problem = exc.strerror or exc
            raise InputError(
                f"cannot write --csv report {path}: {folder} is not a writable directory ({problem})"
            ) from None
        report = cls(path, FileIO(fd, "w"), temp)
        try:
            report._write([])  # the header
            yield report
        finally:
            report.handle.close()
            with contextlib.suppress(OSError):
                os.unlink(temp)  # gone already when the report was moved into place

    def _write(self, rows: list[dict[str, Any]]) -> None:
        from psbridge.safeio import append_durably

        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
        if not rows:
            writer.writeheader()
        writer.writerows(rows)
        append_durably(self.handle, text.getvalue().encode("utf-8"), Path(self.path), "--csv report")

    def finish(self, report: RolloutReport) -> LocalWriteError | None:
        try:
            rows = [item.model_dump(mode="json", include=set(CSV_COLUMNS)) for item in report.items]
            if rows:
                self._write(rows)
            os.replace(self.temp, self.path)
        except LocalWriteError as exc:
            return exc
        except OSError as exc:
            return LocalWriteError(f"cannot write --csv report {self.path}: {exc.strerror or exc}")
        return None


def _organization(ctx: click.Context) -> str | None:
    """The tenant the exo group signs in to (its options, else its target's), for the journal; None when a
    replay leaves it out. Worked out without signing in, so the plan names it too."""
    settings = ctx.meta.get("psbridge.exo")
    return (settings.defaulted(ctx.obj.target()).organization or None) if settings is not None else None


@contextmanager
def _progress(verbose: int) -> Iterator[Callable[[RolloutProgress], None] | None]:
    """A live bar at a terminal (log lines print above it). Otherwise progress events in the CLI's log format,
    which -v shows anyway (the library logs them at info level); without -v they are written here."""
    if terminal.live():
        with terminal.bar("rollout") as advance:
            yield lambda progress: advance(progress.done, progress.total)
        return
    if verbose:
        yield None
        return
    yield lambda progress: terminal.write_event("psbridge.exo.rollout.progress", **progress.model_dump())


def _summary(report: RolloutReport) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        (name, getattr(report, name))
        for name in ("target", "enabled", "dry_run", "journal", "total", "changed", "already_set", "would_change",
                     "failed", "unfinished", "reverted", "skipped", "batches", "retried", "micro_delays",
                     "interrupted", "succeeded")
    ]  # fmt: skip
    bad = [item for item in report.items if item.outcome.value in ("Failed", "Unfinished", "Reverted")]
    reverted = "an earlier run switched it; it is back in the old state (not switched again)"
    rows += [
        (f"[{item.outcome.value}] {item.identity}",
         reverted if item.outcome.value == "Reverted"
         else ": ".join(str(part) for part in (item.error_class, item.error_message) if part))
        for item in bad
    ]  # fmt: skip
    return rows


def _plan_rows(plan: RolloutPlan) -> list[tuple[str, Any]]:
    """The plan as a person reads it: what, where, how fast, how long, and the journal."""
    done = f"yes: {plan.journal_done} finished by an earlier run ({plan.to_verify} of them read again)"
    rows: list[tuple[str, Any]] = [
        ("target", plan.target), ("tenant", plan.tenant), ("setting", plan.setting),
        ("mailboxes", f"{plan.identities} (from the identities file)" if plan.filter is None
         else f"those the filter selects: {plan.filter}"),
        ("to_do", plan.to_do if plan.to_do is not None else "known once the filter is resolved on the jump host"),
        ("batch_size", plan.batch_size), ("pace_s", plan.pace_s), ("parallel", plan.parallel),
        ("timeout_s", plan.timeout_s if plan.timeout_s is not None else "900 (the REST API's 15 minutes per pipeline)"),
        ("batches", plan.batches if plan.batches is not None else "-"),
        ("estimated", _duration(plan.estimated_s)),
        ("journal", plan.journal), ("resumes", done if plan.resumes else "no: a new journal"),
        ("note", plan.note),
    ]  # fmt: skip
    return rows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    return f"about {minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"about {minutes} min"
