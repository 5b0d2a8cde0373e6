"""The PowerShell scripts psbridge sends, shipped in the wheel as `.ps1` files.

Scripts run on the remote host with their parameters bound by PSRP; none of them is ever built from
strings. A test parses each one with a real PowerShell grammar.
"""

from __future__ import annotations

import functools
from importlib import resources

from psbridge.errors import InputError


@functools.cache
def load(name: str) -> str:
    """The text of a packaged script, by its path under `psbridge/ps/` (e.g. `adsync/x.ps1`)."""
    if not name.endswith(".ps1") or ".." in name.split("/") or name.startswith("/"):
        raise InputError(f"not a packaged script name: {name!r}")
    path = resources.files(__package__).joinpath(*name.split("/"))
    if not path.is_file():
        raise InputError(f"no packaged script {name!r}")
    return path.read_text(encoding="utf-8")


def names() -> list[str]:
    """Every packaged script, as `load()` names them."""
    root = resources.files(__package__)
    found: list[str] = []

    def walk(node: resources.abc.Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".ps1"):
                found.append(prefix + child.name)

    walk(root, "")
    return found


@functools.cache
def digests() -> dict[str, str]:
    """SHA-256 of each packaged script's normalized text, to its name: how recordings name scripts."""
    from psbridge.replay.keys import script_digest

    return {script_digest(load(name)): name for name in names()}
