"""Every scenario folder says what it is, and every command line its README.md shows runs as it says.

A scenario is recorded_sessions/demo, recorded_sessions/rollout, a folder of recorded_sessions/runbooks, or
recorded_sessions/ansible (the states of the Ansible collection's playbooks, one folder each).
Its README.md's `sh` blocks run as the top-level README's do (tests/doc_commands.py), each line with the
exit code its `# exit N` comment gives. The README is no recording: the replay loader reads DIR/*.yaml only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Result
from doc_commands import run_block, sh_blocks
from helpers import DEMO, REPO

from psbridge.replay.cassette import load_all

RECORDINGS = REPO / "recorded_sessions"
SCENARIOS = [
    RECORDINGS / "demo",
    RECORDINGS / "rollout",
    *sorted(p for p in (RECORDINGS / "runbooks").iterdir()),
    RECORDINGS / "ansible",
]


def _name(folder: Path) -> str:
    return folder.relative_to(RECORDINGS).as_posix()


def _block(where: str, lines: list[str]) -> object:
    """One block as a test case; one that takes seconds (the 1,050-mailbox rollout, a selftest of every
    wrapper) runs in the slow tier."""
    slow = any("recorded_sessions/rollout" in line or " selftest" in line for line in lines)
    return pytest.param(where, lines, id=where, marks=[pytest.mark.slow] if slow else [])


BLOCKS = [
    _block(f"{_name(folder)} block {number}", lines)
    for folder in SCENARIOS
    if (folder / "README.md").is_file()
    for number, lines in sh_blocks(folder / "README.md")
]


@pytest.mark.parametrize("folder", SCENARIOS, ids=_name)
def test_every_scenario_has_a_readme_with_commands_that_run(folder: Path) -> None:
    readme = folder / "README.md"
    assert readme.is_file(), f"{_name(folder)} has no README.md saying what it is and which flags give which verdict"
    ran = [line for _, lines in sh_blocks(readme) for line in lines if line.startswith("psbridge")]
    assert ran, f"{_name(folder)}/README.md shows no psbridge line that replays a recording of the repository"
    assert all("# exit" in line for line in ran if "check " in line or "diagnose " in line), (
        f"{_name(folder)}/README.md: give each runbook line its `# exit N`"
    )


@pytest.mark.parametrize(("where", "lines"), BLOCKS)
def test_a_scenario_command_runs_with_its_exit_code(
    where: str, lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_block(where, lines, tmp_path, monkeypatch)


@pytest.mark.parametrize("folder", [f for f in SCENARIOS if any(f.glob("*.yaml"))], ids=_name)
def test_a_scenario_readme_is_no_recording(folder: Path) -> None:
    assert len(load_all(folder)) == len(list(folder.glob("*.yaml")))


def test_a_replay_miss_counts_the_recordings_only(cli: Callable[..., Result]) -> None:
    assert (DEMO / "README.md").is_file()
    result = cli("--replay", DEMO, "adsync", "run-history", "--count", "3")  # the demo recorded --count 10 only
    assert result.code == 2
    # The recordings of the connect target's endpoint: every *.yaml but Exchange Server's (Microsoft.Exchange).
    endpoint = [p for p in DEMO.glob("*.yaml") if "configuration_name: Microsoft.PowerShell" in p.read_text("utf-8")]
    assert f"in the {len(endpoint)} recordings in {DEMO}" in result.err
