"""What a CLI run gave, for tests. The `cli` fixture (in conftest.py) returns these."""

from __future__ import annotations

import dataclasses
import json
from typing import Any


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

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

    def refused_after_plan(self) -> str:
        """The confirmation contract off a terminal: the plan on stdout, then exit 2 with one line asking for --yes."""
        assert self.code == 2, self
        assert "Traceback" not in self.err
        lines = [line for line in self.err.splitlines() if line.startswith("psbridge: error: ")]
        assert len(lines) == 1 and "--yes" in lines[0], self.err
        assert self.out.strip(), "the plan comes before the refusal"
        return lines[0]
