"""`psbridge exchange ...`: Exchange Server (on-premises), mirroring `psbridge.exchange`."""

from __future__ import annotations

import click


@click.group()
def exchange() -> None:
    """Exchange Server on-premises (its Microsoft.Exchange endpoint, or through the jump host)."""
