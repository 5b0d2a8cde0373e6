"""The defaults the runbooks' command-line options show, kept apart from the runbooks themselves so that
`psbridge --help` does not import them (and Graph, and pydantic's models) to print a default."""

from __future__ import annotations

import datetime as dt

from psbridge.versions import Version

# check cloud-sync-migration: the provisioning agent that writes Exchange attributes back, how old a
# Connect Sync configuration backup may be, and where the Connect server exports its configuration.
AGENT_MINIMUM = Version("1.1.1107.0")
MAX_BACKUP_AGE = dt.timedelta(days=7)
REMOTE_EXPORT_PATH = "C:\\psbridge\\export"
