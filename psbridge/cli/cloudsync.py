"""`psbridge cloudsync ...`: Entra Cloud Sync through AADCloudSyncTools, mirroring `psbridge.cloudsync`."""

from __future__ import annotations

import click


@click.group()
def cloudsync() -> None:
    """Entra Cloud Sync (the AADCloudSyncTools module on a provisioning-agent server)."""
