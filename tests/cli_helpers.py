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

    @property
    def events(self) -> list[dict[str, Any]]:
        """stderr as the CLI writes it off a terminal: every line one JSON object with an event and a level."""
        events = [json.loads(line) for line in self.err.splitlines()]
        assert all(isinstance(e, dict) and {"event", "level", "timestamp"} <= e.keys() for e in events), self.err
        return events

    def one_line_error(self, code: int = 2) -> str:
        """The failure contract: the exit code, one line on stderr (off a terminal a `psbridge.error` JSON event
        with that exit code), no traceback, no stdout. Returns the line as `--log-format text` writes it."""
        assert self.code == code, self
        assert "Traceback" not in self.err
        assert len(self.err.splitlines()) == 1, self.err
        assert self.out == ""
        return error_line(self.events[0], code)

    def refused_after_plan(self) -> str:
        """The confirmation contract off a terminal: the plan on stdout, then exit 2 with one error asking for --yes."""
        assert self.code == 2, self
        assert "Traceback" not in self.err
        errors = [error_line(e, 2) for e in self.events if e["level"] == "error"]
        assert len(errors) == 1 and "--yes" in errors[0], self.err
        assert self.out.strip(), "the plan comes before the refusal"
        return errors[0]


def error_line(event: dict[str, Any], code: int) -> str:
    """A `psbridge.error` event (level error, `exit_code` `code`) as `--log-format text` writes it."""
    assert (event["event"], event["level"], event["exit_code"]) == ("psbridge.error", "error", code), event
    return f"psbridge: error: {event['message']}"
