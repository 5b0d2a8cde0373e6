"""The PowerShell scripts psbridge sends, shipped in the wheel as `.ps1` files.

Scripts run on the remote host with their parameters bound by PSRP; none of them is ever built from
strings. A test parses each one with a real PowerShell grammar, and a static check (tests/pscheck.py)
refuses the patterns that misbehave on a real host.

Scope contract. The transport sends every script with `UseLocalScope` true, so each call runs in a scope of
its own: its parameters, variables, helper functions and preferences (`$ErrorActionPreference`,
`$ProgressPreference`) end with the call and never reach later commands in the same runspace. (Sent as nil,
pypsrp's default, a script would run dot-sourced in the global scope: `_useLocalScope ?? false` in
PowerShell's `Command.CreateCommandProcessor`,
https://github.com/PowerShell/PowerShell/blob/master/src/System.Management.Automation/engine/hostifaces/Command.cs;
the replay server refuses such a call.) What must outlive a call is made global on purpose, and only this:

- `exchange/Invoke-ExchangeCommand.ps1`: `$global:PsbridgeExchangeListings`, the paging state (the rows of
  each unfinished listing, by cursor), which the next call with `-Cursor` reads; an entry leaves when its
  listing is read to the end or released.
- `exchange/Connect-ExchangeServer.ps1`: `$global:PsbridgeExchangeServerSession`, the PSSession to the
  Exchange server, which the `-Disconnect` call removes; and the session's proxy module, imported with
  `Import-Module -Global` (Import-PSSession alone imports it into the script's scope), whose OnPrem commands
  later Invoke-ExchangeCommand.ps1 calls run.
- `cloudsync/Invoke-AADCloudSyncTools.ps1`: the AADCloudSyncTools module, imported with `Import-Module
  -Global` once per runspace, since its sign-in state lives in the module; and, only while
  Connect-AADCloudSyncTools runs, a `function:global:Start-Sleep` override: MSAL.PS's module code resolves
  commands in its own module scope and then the global scope, never the calling script's, and the override
  relays the device-code text between its sleeps. The same call removes it in a `finally` block.

Anything else global (`$global:`, `function:global:`, `-Scope Global` or `1`, `Import-Module -Global`, an
assignment to `$script:`) fails the static check; a new entry goes into its allow-list and into this list.
"""

from __future__ import annotations

import functools
import hashlib
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


def script_digest(text: str) -> str:
    """SHA-256 of a script's text with line endings and trailing blanks normalized."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).strip("\n").encode("utf-8")).hexdigest()


@functools.cache
def digests() -> dict[str, str]:
    """SHA-256 of each packaged script's normalized text, to its name: how recordings name scripts."""
    return {script_digest(load(name)): name for name in names()}
