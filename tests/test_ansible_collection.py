"""The psbridge.hybrid Ansible collection's own checks, as CI runs them (issue 16's "Done when").

From the collection's root (ansible_collections/psbridge/hybrid), with the tools installed beside this Python
(the dev extras bring ansible-core 2.19, the last line whose controller runs on Python 3.11):

1. `tests/setup_sanity.py` writes the stand-in for pip's bootstrap script (ansible/ansible#77304), so
   ansible-test builds its virtual environments from the package index alone;
2. `ansible-galaxy collection build` makes the artifact;
3. `ansible-test sanity --python X.Y` (this Python's version) passes: the first run on a machine builds nine
   virtual environments (about four minutes), later ones take under a minute;
4. `ansible-test units --python X.Y --local --requirements` passes (it installs pytest's helpers here);
5. `tests/playbooks/run_playbooks.py` runs real playbooks against `psbridge serve-replay` on loopback: check
   mode, changed then unchanged, failures with their error class, no password in `-vvv` output.

Skipped, with the reason, only where ansible-core is not installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO

pytest.importorskip("ansible_test", reason="ansible-core is not installed: `pip install -e '.[dev]'` brings it")

pytestmark = pytest.mark.subprocess

COLLECTION = REPO / "ansible_collections" / "psbridge" / "hybrid"
BIN = Path(sys.executable).parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TAIL = 20_000  # characters of a failed command's output shown in the assertion


def run(*command: str | Path, timeout: float) -> tuple[int, str]:
    """A command from the collection's root, with this Python's tools first on PATH: (exit code, output)."""
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    env.pop("ANSIBLE_CONFIG", None)
    done = subprocess.run(
        [str(part) for part in command], cwd=COLLECTION, env=env, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout + done.stderr


def tool(name: str) -> Path:
    path = BIN / name
    assert path.is_file(), f"{name} is not installed beside {sys.executable} (ansible-core is importable)"
    return path


def explain(command: str, code: int, output: str) -> str:
    return f"{command} exited {code}; its output (the end):\n{output[-TAIL:]}"


@pytest.fixture(scope="module")
def bootstrap_stand_in() -> None:
    """ansible-test's pip bootstrap, from the package index (tests/setup_sanity.py)."""
    code, output = run(sys.executable, "tests/setup_sanity.py", timeout=60)
    assert code == 0, explain("tests/setup_sanity.py", code, output)


@pytest.mark.timeout(300)
def test_the_collection_builds(tmp_path: Path) -> None:
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text(encoding="utf-8"))
    code, output = run(tool("ansible-galaxy"), "collection", "build", "--output-path", tmp_path, timeout=240)
    assert code == 0, explain("ansible-galaxy collection build", code, output)
    artifact = tmp_path / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert artifact.is_file(), explain(f"ansible-galaxy collection build (no {artifact.name})", code, output)


@pytest.mark.timeout(1800)
def test_sanity_passes(bootstrap_stand_in: None) -> None:
    code, output = run(tool("ansible-test"), "sanity", "--python", PYTHON, timeout=1700)
    assert code == 0, explain(f"ansible-test sanity --python {PYTHON}", code, output)


@pytest.mark.timeout(900)
def test_unit_tests_pass() -> None:
    code, output = run(tool("ansible-test"), "units", "--python", PYTHON, "--local", "--requirements", timeout=800)
    assert code == 0, explain(f"ansible-test units --python {PYTHON} --local --requirements", code, output)


@pytest.mark.timeout(1800)
def test_playbooks_pass_against_serve_replay_on_loopback() -> None:
    code, output = run(sys.executable, "tests/playbooks/run_playbooks.py", timeout=1700)
    passed = re.search(r"^(\d+) passed, 0 failed$", output, re.MULTILINE)
    assert code == 0 and passed and int(passed.group(1)) > 0, explain("tests/playbooks/run_playbooks.py", code, output)
