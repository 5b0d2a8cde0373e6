"""The defaults the command line shows in --help, kept in one light module so that `psbridge --help`
imports no product, runbook or pydantic model to print them. The products and runbooks use them too.
"""

from __future__ import annotations

import datetime as dt

from psbridge.versions import Version

# Entra Connect Sync: required since 30 Sep 2026, older builds stop synchronizing (verified: Microsoft's
# hardening notice, https://learn.microsoft.com/entra/identity/hybrid/connect/harden-update-ad-fs-pingfederate).
REQUIRED_MINIMUM = Version("2.5.79.0")
# Exchange cloud-managed mailboxes: 2.5.76.0 in the preview text, 2.5.190.0 in later material.
# Unconfirmed by a Microsoft page, so the default is the stricter one and callers can change it.
CLOUD_MANAGED_DEFAULT_MINIMUM = Version("2.5.190.0")

# check cloud-sync-migration: the provisioning agent that writes Exchange attributes back, how old a
# Connect Sync configuration backup may be, and where the Connect server exports its configuration.
AGENT_MINIMUM = Version("1.1.1107.0")
MAX_BACKUP_AGE = dt.timedelta(days=7)
REMOTE_EXPORT_PATH = "C:\\psbridge\\export"

# exo rollout: mailboxes per batch, and the pause between them (psbridge.exchange.pacing plans with them).
DEFAULT_BATCH_SIZE = 200
DEFAULT_PACE_S = 0.5
