"""Entra Connect Sync (ADSync module) wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
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
_LAZY = {
    "GlobalParameter": "psbridge.adsync.models",
    "GlobalSettings": "psbridge.adsync.models",
    "PolicyNote": "psbridge.adsync.policy",
    "VersionCheck": "psbridge.adsync.models",
    "check_version": "psbridge.adsync.functions",
    "get_global_settings": "psbridge.adsync.functions",
    "get_version": "psbridge.adsync.functions",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
