"""Fault hooks for the reliability suite: what the tenant does to a chosen InvokeCommand.

A `Fault` matches a call by cmdlet and/or Identity (case-insensitive; None matches any) and fires on the
`nth` matching call and the `count - 1` after it (a `$batch` item is a call of its own):

- `hang`: the request waits until `release()` (or the client's read timeout, which the adapter raises as
  `requests.exceptions.ReadTimeout`; the call is then never acted on), then is served normally;
- `lost`: the tenant acts, then the connection drops before the answer (`requests.exceptions.ConnectionError`;
  for a `$batch`, every item is acted on first);
- `429` / `503`: the call is answered with that status (with the rate-limit headers for 429) and not acted on.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any, Literal

Kind = Literal["hang", "lost", "429", "503"]


@dataclasses.dataclass
class Fault:
    kind: Kind
    cmdlet: str | None = None
    identity: str | None = None
    nth: int = 1
    count: int = 1
    seen: int = 0  # matching calls so far
    fired: int = 0
    _released: threading.Event = dataclasses.field(default_factory=threading.Event, repr=False)

    def hit(self, cmdlet: str, parameters: Mapping[str, Any]) -> bool:
        """Count this call if it matches; whether the fault fires on it. Called under the tenant's lock."""
        if self.cmdlet is not None and self.cmdlet.casefold() != cmdlet.casefold():
            return False
        identity = next((v for k, v in parameters.items() if k.casefold() == "identity"), None)
        if self.identity is not None and str(identity).casefold() != self.identity.casefold():
            return False
        self.seen += 1
        fires = self.nth <= self.seen < self.nth + self.count
        self.fired += fires
        return fires

    def wait(self, timeout: float | None) -> bool:
        """For `hang`: block until released; False when `timeout` passed first."""
        return self._released.wait(timeout)

    def release(self) -> None:
        self._released.set()
