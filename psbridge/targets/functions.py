"""The reachability probe `psbridge config check` runs on every target."""

from __future__ import annotations

import time

from psbridge.command import Command
from psbridge.session import Session
from psbridge.targets.models import Reachability

# Select-Object with no input reads nothing, changes nothing and returns nothing. Every endpoint has it,
# even a restricted NoLanguage one such as Exchange Server's Microsoft.Exchange: a restricted runspace
# keeps only Exit-PSSession, Get-Command, Get-FormatData, Get-Help, Measure-Object, Out-Default and
# Select-Object (InitialSessionState.CreateRestricted(RemoteServer)). It is bound as a cmdlet, never sent
# as script text, which such an endpoint refuses with ScriptsNotAllowed (docs/psrp.md, Endpoints and
# restricted sessions).
PROBE = Command.cmdlet("Select-Object")


def probe(session: Session) -> Reachability:
    """Check that the host runs a command (Select-Object, with no input), and time the round trip.

    On a session's first call this also opens its runspace pool and runs its per-runspace setup, such as
    the Exchange Online sign-in, so a failed sign-in fails the probe.
    """
    started = time.monotonic()
    session.invoke(PROBE)
    return Reachability(target=session.target, elapsed_ms=round((time.monotonic() - started) * 1000, 1))
