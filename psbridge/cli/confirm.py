"""Commands that change something refuse to run unless told to: nothing in cron can answer a prompt."""

from __future__ import annotations

import click

dry_run_option = click.option("--dry-run", is_flag=True, help="Only read, and report what would be done.")
yes_option = click.option("--yes", is_flag=True, help="Do it: this changes the target (required unless --dry-run).")


def require_confirmation(yes: bool, dry_run: bool, what: str) -> None:
    """Exit 2 with one line unless `--yes` (do it) or `--dry-run` (only report) was given."""
    if not (yes or dry_run):
        raise click.UsageError(f"{what}: pass --yes to do it, or --dry-run to see what it would do")
