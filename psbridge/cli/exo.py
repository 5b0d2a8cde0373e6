"""`psbridge exo ...`: Exchange Online through a Windows jump host, mirroring `psbridge.exchange`."""

from __future__ import annotations

import click


@click.group()
def exo() -> None:
    """Exchange Online (ExchangeOnlineManagement on a Windows jump host, app-only sign-in)."""
