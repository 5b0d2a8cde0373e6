"""Entra Connect Sync (ADSync module) wrappers."""

from psbridge.adsync.functions import check_version, get_global_settings, get_version
from psbridge.adsync.models import GlobalParameter, GlobalSettings, VersionCheck
from psbridge.adsync.policy import PolicyNote

__all__ = [
    "GlobalParameter",
    "GlobalSettings",
    "PolicyNote",
    "VersionCheck",
    "check_version",
    "get_global_settings",
    "get_version",
]
