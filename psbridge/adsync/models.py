"""Typed results of the ADSync wrappers."""

from __future__ import annotations

from pydantic import Field

from psbridge.adsync.policy import PolicyNote
from psbridge.errors import InputError
from psbridge.models import PSModel
from psbridge.versions import Version

SERVER_CONFIGURATION_VERSION = "Microsoft.Synchronize.ServerConfigurationVersion"


class GlobalParameter(PSModel):
    """One `ConfigurationParameter` of Get-ADSyncGlobalSettings. `value` is always the stored string."""

    name: str = Field(alias="Name")
    value: str = Field(default="", alias="Value")
    data_type: str = Field(default="String", alias="DataType")
    scope: str = Field(default="", alias="Scope")


class GlobalSettings(PSModel):
    parameters: tuple[GlobalParameter, ...]

    def get(self, name: str) -> str | None:
        """A parameter's value by name (case-insensitive), or None when this build lacks it."""
        lowered = name.lower()
        return next((p.value for p in self.parameters if p.name.lower() == lowered), None)

    @property
    def server_configuration_version(self) -> Version:
        raw = self.get(SERVER_CONFIGURATION_VERSION)
        if raw is None:
            raise InputError(f"the server reports no {SERVER_CONFIGURATION_VERSION} global setting")
        return Version(raw)


class VersionCheck(PSModel):
    """An Entra Connect Sync server's version against a minimum, with what Microsoft's lifecycle says."""

    target: str
    version: Version
    minimum: Version
    meets_minimum: bool
    cloud_managed_minimum: Version
    notes: tuple[PolicyNote, ...]
