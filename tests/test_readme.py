"""Every command line of the README that runs on the shipped recordings does, with the exit code it gives.

Which lines run, and how, is tests/doc_commands.py's rule (shared with the scenario READMEs' test).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_commands import run_block, sh_blocks
from helpers import REPO

README = REPO / "README.md"


def test_the_readme_shows_runnable_commands() -> None:
    ran = [line for _, lines in sh_blocks(README) for line in lines if "psbridge" in line]
    assert len(ran) >= 12, ran  # the quick start, the runbook scenarios, selftest, config, cloudsync, exo, rollout


@pytest.mark.parametrize(
    ("number", "lines"), sh_blocks(README), ids=lambda v: f"block{v}" if isinstance(v, int) else None
)
def test_a_readme_command_runs_on_the_shipped_recordings_with_its_exit_code(
    number: int, lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_block(f"README block {number}", lines, tmp_path, monkeypatch)
