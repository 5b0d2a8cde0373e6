"""`psbridge exo rollout`: make the Exchange attributes of many mailboxes cloud-managed, resumably.

Mirrors `psbridge.exchange.rollout.rollout_cloud_managed`. It signs in as the `exo` group's options
say. It changes mailboxes, so it does nothing without `--yes` (or `--dry-run`, which only reads).
`--journal` is required: re-run the same command with the same journal after an interruption and it
finishes what is left. Progress goes to stderr: a bar on a terminal, otherwise one
`psbridge.exo.rollout.progress` event per batch. Exit code 0 when every mailbox is changed or already
set, 1 when any failed, is unfinished or was reverted (the report lists them).

Files are checked before the first mailbox is read: the identities file, the journal and the
`--csv` report must be regular files (or, for the journal and the report, not exist yet), and the
report may not be the journal or the identities file (compared as files, through links and other
spellings). The report is started before the rollout (a temporary file beside it, its header
written and synced, so a missing folder or a full disk shows now) and moved into place at the end.
Should it still fail then, the JSON report is printed all the same, and the exit code is 2.
`--timeout` is each batch's deadline (by default the REST API's 15 minutes).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from psbridge.cli.confirm import dry_run_option, require_confirmation, yes_option
from psbridge.cli.exo import exo_session
from psbridge.cli.output import emit
from psbridge.cli.params import Int32, Seconds
from psbridge.defaults import DEFAULT_BATCH_SIZE, DEFAULT_PACE_S
from psbridge.errors import InputError, LocalWriteError

if TYPE_CHECKING:
    from psbridge.exchange.rollout import RolloutProgress, RolloutReport

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
    csv_path: str | None,
    dry_run: bool,
    yes: bool,
) -> int:
    """Switch IsExchangeCloudManaged on many mailboxes, in batches, with a resumable journal.

    Exit code 0 when every mailbox is changed or already set (or, with --dry-run, would change),
    1 when any failed, is unfinished or was switched back since (Reverted); re-run with the same
    --journal to finish or retry. 2 for bad input, or a --csv that could not be written at the end
    (the report is printed all the same). The global --timeout is each batch's deadline.
    """
    if (identities_file is None) == (opath is None):
        raise click.UsageError("give the mailboxes: --identities FILE (- for stdin) or --filter OPATH")
    require_confirmation(yes, dry_run, "rollout changes mailboxes")
    from psbridge.safeio import regular_file

    regular_file(journal, "journal")
    identities = _read_identities(identities_file) if identities_file is not None else None
    from psbridge.exchange.rollout import item_retry, plan_pacing, rollout_cloud_managed

    timeout = ctx.obj.params["timeout"] if "timeout" in ctx.obj.explicit else None
    plan_pacing(batch_size, pace_s, timeout)  # a timeout a batch cannot keep is refused before signing in
    with contextlib.ExitStack() as stack:
        table = stack.enter_context(_CsvReport.start(csv_path, journal, identities_file)) if csv_path else None
        session = exo_session(ctx)
        with _progress(ctx.obj.verbose) as on_progress:
            report = rollout_cloud_managed(
                session, identities=identities, filter=opath, enabled=not disable, journal=journal,
                batch_size=batch_size, pace_s=pace_s, dry_run=dry_run, on_progress=on_progress,
                tenant=_organization(ctx), retry=item_retry(retry_wait_s), retry_failed=retry_failed,
                timeout=timeout,
            )  # fmt: skip
        failure = table.finish(report) if table is not None else None
    emit(ctx, report, _summary(report))
    if failure is not None:
        raise failure  # after the report: the rollout's outcome is printed whatever became of the file
    return 0 if report.succeeded else 1


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
    """The tenant the exo group signs in to, for the journal (None when a replay leaves it out)."""
    return getattr(ctx.meta.get("psbridge.exo"), "organization", None) or None


@contextmanager
def _progress(verbose: int) -> Iterator[Callable[[RolloutProgress], None] | None]:
    """A bar on a terminal. Otherwise progress events in the CLI's log format, which -v shows anyway
    (the library logs them at info level); without -v they are written here, at info level too."""
    if sys.stderr.isatty():
        with click.progressbar(length=1, label="rollout", file=sys.stderr, show_pos=True) as bar:
            shown = 0

            def advance(progress: RolloutProgress) -> None:
                nonlocal shown
                bar.length = progress.total
                bar.update(progress.done - shown)
                shown = progress.done

            yield advance
        return
    if verbose:
        yield None
        return
    import structlog

    log = structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        processors=structlog.get_config()["processors"],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    yield lambda progress: log.info("psbridge.exo.rollout.progress", **progress.model_dump())


def _summary(report: RolloutReport) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        (name, getattr(report, name))
        for name in ("target", "enabled", "dry_run", "journal", "total", "changed", "already_set", "would_change",
                     "failed", "unfinished", "reverted", "skipped", "batches", "retried", "micro_delays",
                     "succeeded")
    ]  # fmt: skip
    bad = [item for item in report.items if item.outcome.value in ("Failed", "Unfinished", "Reverted")]
    reverted = "an earlier run switched it; it is back in the old state (not switched again)"
    rows += [
        (f"[{item.outcome.value}] {item.identity}",
         reverted if item.outcome.value == "Reverted" else f"{item.error_class}: {item.error_message}")
        for item in bad
    ]  # fmt: skip
    return rows
