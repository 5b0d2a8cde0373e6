"""`psbridge exo rollout`: make the Exchange attributes of many mailboxes cloud-managed, resumably.

Mirrors `psbridge.exchange.rollout.rollout_cloud_managed`. It signs in as the `exo` group's options
say. It changes mailboxes, so it does nothing without `--yes` (or `--dry-run`, which only reads).
`--journal` is required: re-run the same command with the same journal after an interruption and it
finishes what is left. Progress goes to stderr: a bar on a terminal, otherwise one
`psbridge.exo.rollout.progress` event per batch. Exit code 0 when every mailbox is changed or already
set, 1 when any failed or is unfinished (the report lists them).
"""

from __future__ import annotations

import csv
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

from psbridge.cli.confirm import dry_run_option, require_confirmation, yes_option
from psbridge.cli.exo import exo_session
from psbridge.cli.output import emit
from psbridge.errors import InputError
from psbridge.exchange.pacing import DEFAULT_BATCH_SIZE, DEFAULT_PACE_S

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
    "--identities", "identities_file", type=click.File("r", encoding="utf-8-sig"), metavar="FILE|-",
    help="Mailboxes to switch, one identity (UPN or GUID) per line; - reads stdin. Blank and # lines are skipped.",
)  # fmt: skip
@click.option("--filter", "opath", metavar="OPATH", help="Instead: every mailbox this OPATH filter selects.")
@click.option("--disable", is_flag=True, help="Set IsExchangeCloudManaged to False: back to on-premises management.")
@click.option(
    "--journal", required=True, type=click.Path(dir_okay=False),
    help="JSON-lines journal of every outcome; re-run with the same file to resume.",
)  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option(
    "--pace", "pace_s", type=click.FloatRange(min=0), default=DEFAULT_PACE_S, show_default=True,
    help="Seconds to pause after each Set-Mailbox, on the jump host; micro-delay warnings raise it.",
)  # fmt: skip
@click.option(
    "--retry-wait", "retry_wait_s", type=click.FloatRange(min=0), default=30.0, show_default=True,
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
    identities_file: IO[str] | None,
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
    1 when any failed or is unfinished; re-run with the same --journal to finish or retry.
    """
    if (identities_file is None) == (opath is None):
        raise click.UsageError("give the mailboxes: --identities FILE (- for stdin) or --filter OPATH")
    require_confirmation(yes, dry_run, "rollout changes mailboxes")
    if csv_path is not None:
        _check_writable(csv_path)  # before any mailbox is changed, not after the rollout
    identities = _read_identities(identities_file) if identities_file is not None else None
    from psbridge.exchange.rollout import item_retry, rollout_cloud_managed

    session = exo_session(ctx)
    with _progress(ctx.obj.verbose) as on_progress:
        report = rollout_cloud_managed(
            session, identities=identities, filter=opath, enabled=not disable, journal=journal,
            batch_size=batch_size, pace_s=pace_s, dry_run=dry_run, on_progress=on_progress,
            tenant=_organization(ctx), retry=item_retry(retry_wait_s), retry_failed=retry_failed,
        )  # fmt: skip
    if csv_path is not None:
        _write_csv(report, csv_path)
    emit(ctx, report, _summary(report))
    return 0 if report.succeeded else 1


def _read_identities(stream: IO[str]) -> list[str]:
    name = getattr(stream, "name", "the input")
    try:
        lines = [line.strip() for line in stream]
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text (byte {exc.start}): give one identity per line") from None
    identities = [line for line in lines if line and not line.startswith("#")]
    if not identities:
        raise InputError(f"no mailbox identities in {name}")
    return identities


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {path}: {folder} is not a writable directory")


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
                     "failed", "unfinished", "skipped", "batches", "retried", "micro_delays", "succeeded")
    ]  # fmt: skip
    bad = [item for item in report.items if item.outcome.value in ("Failed", "Unfinished")]
    rows += [(f"[{item.outcome.value}] {item.identity}", f"{item.error_class}: {item.error_message}") for item in bad]
    return rows


def _write_csv(report: RolloutReport, path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for item in report.items:
                writer.writerow(item.model_dump(mode="json", include=set(CSV_COLUMNS)))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
