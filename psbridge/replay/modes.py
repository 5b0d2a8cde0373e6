"""The record modes, the same for PowerShell sessions (`replay.transport`) and Graph (`replay.graph_http`).

- `none` (the default): replay only. The network is never touched; what is not recorded fails with
  ReplayMissError naming it and the nearest recorded requests.
- `once`: replay when the file exists, otherwise record everything live and write it.
- `new_episodes`: replay what is recorded; send what is not to the live side and add it to the file.
- `rewrite`: record everything live and replace the file.

Nothing ever loops back to an earlier answer: each recorded one is served at most once.
"""

from __future__ import annotations

from typing import Literal

from psbridge import errors

RecordMode = Literal["none", "once", "new_episodes", "rewrite"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "rewrite")


def checked(mode: str) -> RecordMode:
    """`mode` if it is a record mode; InputError naming the modes otherwise."""
    for known in RECORD_MODES:
        if mode == known:
            return known
    raise errors.InputError(f"record mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
