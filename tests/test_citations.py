"""Every citation in the repository can be followed from the repository.

Code, PowerShell, recordings and docs cite public pages or the project's own `docs/`. A Markdown file
named anywhere (`adsync.md §4`, `docs/exchange.md`) must exist in the repository, and the verification
markers of notes kept elsewhere (`[U]`, `[I]`, `[T]`, `[V]`) are spelled out in words instead.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import REPO

TEXT_SUFFIXES = {".py", ".ps1", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".json", ".sh", ""}
_MD = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b")
_OUTSIDE = re.compile(r"shared/reference|\.\./shared/")
# A marker is a capital in brackets after a space or an opening parenthesis, not an index (`list[V]`).
_MARKER = re.compile(r"(?:^|[\s(,;])\[(U|I|T|V)\](?![\w(])")
_URL = re.compile(r"https?://\S+")  # a public page may well be a Markdown file in a public repository


def _tracked() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return [REPO / name for name in listed.split("\0") if name and (REPO / name).suffix in TEXT_SUFFIXES]


def _markdown_files() -> set[str]:
    found = {str(p.relative_to(REPO)) for p in REPO.rglob("*.md") if ".ci-venv" not in p.parts}
    return found | {Path(p).name for p in found if Path(p).parent == Path(".")}


def _problems(path: Path, text: str, known: set[str]) -> list[str]:
    where = path.relative_to(REPO)
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        line = _URL.sub("", line)
        for cited in _MD.findall(line):
            folder = where.parent
            if cited not in known and str(folder / cited) not in known:
                problems.append(f"{where}:{number}: cites {cited}, which is not in the repository")
        if _OUTSIDE.search(line):
            problems.append(f"{where}:{number}: cites a path outside the repository")
        if _MARKER.search(line):
            problems.append(f"{where}:{number}: a verification marker; say it in words")
    return problems


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to list files")
def test_no_file_cites_a_document_outside_the_repository() -> None:
    known = _markdown_files()
    problems = []
    for path in _tracked():
        if path == Path(__file__) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        problems.extend(_problems(path, text, known))
    assert not problems, "\n".join(problems[:50]) + (
        f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
    )


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("# Projects Get-ADSyncScheduler (adsync.md section 4.1)", True),
        ('"""Typed results (shared/reference/adsync.md)."""', True),
        ("# End of support (adsync.md §10.2, [T]).", True),
        ("# see docs/adsync.md, Scheduler", False),
        ("# see README.md", False),
        ("def f(x: list[V]) -> Mapping[K, V]: ...", False),
        (
            "https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler",
            False,
        ),
        ("# https://github.com/MicrosoftDocs/windows-powershell-docs/blob/main/docset/Get-ADUser.md", False),
    ],
)
def test_the_check_finds_what_it_must_and_nothing_else(line: str, found: bool) -> None:
    known = {"README.md", "docs/adsync.md"}
    assert bool(_problems(REPO / "psbridge" / "x.py", line, known)) is found
