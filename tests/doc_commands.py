"""Running the command lines a Markdown file shows, with the exit codes it gives them.

A line of a `sh` block is run when it is a `psbridge` command whose `--replay` path is in the repository
(`pip install . && ` before it is dropped), or a `seq` that makes an input file for the next line. Its
expected exit code is the `# exit N` comment at its end, else 0. Lines for live hosts, and the replay of a
recording another line would have recorded, are not run. Each block runs in a fresh folder that holds the
repository's recordings and examples, so a journal or a file one line writes never reaches another block.
Paths in a line are relative to the repository's root, as a reader in a clone types them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from helpers import REPO

from psbridge.cli.main import main

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"#\s*exit (\d+)")
_INSTALL = "pip install . && "


def sh_blocks(markdown: Path) -> list[tuple[int, list[str]]]:
    """(block number, its runnable lines) for every sh block of `markdown` with at least one."""
    blocks = []
    for number, match in enumerate(_BLOCK.finditer(markdown.read_text(encoding="utf-8")), 1):
        joined = match.group(1).replace("\\\n", " ")  # a line continued with a backslash is one command
        runnable = [line for line in joined.splitlines() if _runnable(line)]
        if runnable:
            blocks.append((number, runnable))
    return blocks


def _runnable(line: str) -> bool:
    words = shlex.split(line.removeprefix(_INSTALL), comments=True)
    if words[:1] == ["seq"]:
        return True
    if words[:1] != ["psbridge"] or "--replay" not in words:
        return False
    return (REPO / words[words.index("--replay") + 1]).exists()


def expected_exit(line: str) -> int:
    return int(found.group(1)) if (found := _EXIT.search(line)) else 0


def run_block(where: str, lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run one block's lines in order in a fresh folder (`tmp_path`), each with the exit code it gives."""
    for name in ("recorded_sessions", "examples"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("PSBRIDGE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for line in lines:
        words = shlex.split(line.removeprefix(_INSTALL), comments=True)
        if words[0] == "seq":
            subprocess.run(line.split("#", 1)[0], shell=True, check=True, cwd=tmp_path)
            continue
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = main(words[1:])
        expected = expected_exit(line)
        assert code == expected, f"{where}: {line!r} exited {code}, not {expected}: {err.getvalue()[-500:]}"
