"""Running the CLI in-process for tests: the result type, and fixtures a test module imports.

from cli_helpers import Result, cli, isolated  # noqa: F401  (fixtures are used by name)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from helpers import REPO

from psbridge.cli.main import main


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)  # one document: trailing data would raise

    def one_line_error(self, code: int = 2) -> str:
        """The failure contract: the exit code, one `psbridge: error:` line on stderr, no traceback, no stdout."""
        assert self.code == code, self
        assert "Traceback" not in self.err
        lines = self.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("psbridge: error: "), self.err
        assert self.out == ""
        return lines[0]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No PSBRIDGE_* setting from the caller's shell leaks in; structlog is left unconfigured afterwards."""
    for name in list(os.environ):
        if name.startswith("PSBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(REPO)
    yield
    structlog.reset_defaults()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str | os.PathLike[str]) -> Result:
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
