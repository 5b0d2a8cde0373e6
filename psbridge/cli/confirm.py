"""The one confirmation model of every command that changes something.

- `--dry-run`: print the plan (what would change and the predicted after-state), send nothing that
  changes anything, exit 0.
- `--yes`: do it (with `--dry-run` too, the dry run wins).
- neither: print the plan first; then at a terminal (stdin and stderr both ttys) ask `Proceed? [y/N]`
  on stderr and do it only on yes; off a terminal (cron, CI, a pipe) refuse with one line. Not
  confirmed, whether refused or declined, is exit 2 (`ExitCode.USAGE`): nothing was changed, and the
  command needs `--yes` (or a yes at the prompt) to change anything.

The plan is the command's own dry run, so nothing is written before the answer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click

R = TypeVar("R")

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Only read, print the plan (what would change, and to what) and exit 0."
)
yes_option = click.option(
    "--yes", is_flag=True, help="Do it without asking. Without it: the plan, then y/N at a terminal, else exit 2."
)


def at_terminal() -> bool:
    """Whether someone can answer a prompt: stdin and stderr are both terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def run_confirmed(
    *, yes: bool, dry_run: bool, what: str, act: Callable[[bool], R], proceed: Callable[[R], bool] | None = None
) -> R:
    """Run a command that changes something under the one model; returns the last result of `act`.

    `act(dry_run)` runs the command (its library call with that `dry_run`) and prints the result. The
    plan is `act(True)`: nothing that changes anything is sent before the answer. A plan that
    `proceed` rejects (default: one whose `would_change` is False) needs no confirmation: it is the
    answer (nothing to do, or refused by the command's own checks).
    """
    if yes and not dry_run:
        return act(False)
    planned = act(True)
    worth_asking = proceed(planned) if proceed is not None else getattr(planned, "would_change", True) is not False
    if dry_run or not worth_asking:
        return planned
    if not at_terminal():
        raise click.UsageError(f"{what}: not done; pass --yes to do it (the plan is above)")
    if not click.confirm("Proceed?", default=False, err=True):
        raise click.UsageError(f"{what}: not done (declined)")
    return act(False)


def require_confirmation(yes: bool, dry_run: bool, what: str) -> None:
    """Exit 2 with one line unless `--yes` or `--dry-run`: for a command that cannot compute a plan.

    Prefer `run_confirmed`, which shows the plan and asks at a terminal.
    """
    if not (yes or dry_run):
        raise click.UsageError(f"{what}: pass --yes to do it, or --dry-run to see what it would do")
