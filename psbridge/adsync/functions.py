"""Entra Connect Sync (the ADSync module), on the Connect server's Windows PowerShell 5.1 endpoint."""

from __future__ import annotations

import datetime as dt

from psbridge.adsync.models import GlobalParameter, GlobalSettings, VersionCheck
from psbridge.adsync.policy import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM, notes_for
from psbridge.command import Command
from psbridge.models import from_output
from psbridge.session import Session
from psbridge.versions import Version


def get_global_settings(session: Session) -> GlobalSettings:
    """Every global parameter of the sync engine; wraps Get-ADSyncGlobalSettings, flattened on the server."""
    command = Command.script("adsync/Get-GlobalParameters.ps1")
    result = session.invoke(command)
    params = from_output(GlobalParameter, result.output, command=command.display(), target=session.target)
    return GlobalSettings(parameters=tuple(params))


def get_version(session: Session) -> Version:
    """The server configuration version (`Microsoft.Synchronize.ServerConfigurationVersion`)."""
    return get_global_settings(session).server_configuration_version


def check_version(
    session: Session,
    *,
    minimum: Version | str = REQUIRED_MINIMUM,
    cloud_managed_minimum: Version | str = CLOUD_MANAGED_DEFAULT_MINIMUM,
    today: dt.date | None = None,
) -> VersionCheck:
    """Compare the installed version with a minimum, and add Microsoft's lifecycle notes.

    `cloud_managed_minimum` is the floor for cloud-managed Exchange attributes, which public sources
    disagree on (2.5.76.0 or 2.5.190.0); it defaults to the stricter one.
    """
    minimum = Version(minimum)
    cloud_floor = Version(cloud_managed_minimum)
    version = get_version(session)
    return VersionCheck(
        target=session.target,
        version=version,
        minimum=minimum,
        meets_minimum=version >= minimum,
        cloud_managed_minimum=cloud_floor,
        notes=tuple(notes_for(version, today=today or dt.date.today(), cloud_managed_minimum=cloud_floor)),
    )
