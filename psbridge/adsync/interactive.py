"""ADSync cmdlets that need a person at a keyboard: each function raises InteractiveOnlyError at once.

These cmdlets take `-AADUserName` and open an interactive MSAL sign-in, which a remote runspace cannot
show (docs/adsync.md, Deletion threshold): Get-/Enable-/Disable-ADSyncExportDeletionThreshold, and since
2.6.84.0 Set-ADSyncAADCompanyFeature and Set-ADSyncAADPasswordSyncState. Nothing is sent to the
server; the error names the unattended way to do the same thing. (For reading the threshold,
`psbridge.adsync.get_export_deletion_threshold` returns the global settings' local mirror.)
"""

from __future__ import annotations

from typing import NoReturn

from psbridge.errors import InteractiveOnlyError
from psbridge.session import Session

_GRAPH_UPDATE = (
    "Update-MgDirectoryOnPremiseSynchronization (Microsoft Graph directory/onPremisesSynchronization; "
    "delegated permissions, Global Administrator only)"
)
_THRESHOLD_READ = (
    "read it with psbridge.adsync.get_export_deletion_threshold (`psbridge adsync deletion-threshold`, the "
    "global settings' local mirror) or Graph GET /beta/directory/onPremisesSynchronization -> "
    "configuration.accidentalDeletionPrevention"
)
ALTERNATIVES: dict[str, str] = {
    "Enable-ADSyncExportDeletionThreshold": (
        "set configuration.accidentalDeletionPrevention (synchronizationPreventionType, alertThreshold) with "
        f"{_GRAPH_UPDATE}; {_THRESHOLD_READ}"
    ),
    "Disable-ADSyncExportDeletionThreshold": (
        "set configuration.accidentalDeletionPrevention.synchronizationPreventionType to 'disabled' with "
        f"{_GRAPH_UPDATE}; {_THRESHOLD_READ}"
    ),
    "Set-ADSyncAADCompanyFeature": f"change the feature flags (`features`) with {_GRAPH_UPDATE}",
    "Set-ADSyncAADPasswordSyncState": f"change the feature flags (`features`) with {_GRAPH_UPDATE}",
}


def refusal(cmdlet: str, *, target: str | None = None) -> InteractiveOnlyError:
    """The InteractiveOnlyError for one of the cmdlets in ALTERNATIVES."""
    return InteractiveOnlyError(
        f"{cmdlet} needs an interactive Entra sign-in (-AADUserName) and cannot run unattended over remoting; "
        f"instead, {ALTERNATIVES[cmdlet]}",
        target=target,
        command=cmdlet,
    )


def enable_export_deletion_threshold(session: Session, *, deletion_threshold: int) -> NoReturn:
    """Enable-ADSyncExportDeletionThreshold: interactive only, so it always raises InteractiveOnlyError."""
    raise refusal("Enable-ADSyncExportDeletionThreshold", target=session.target)


def disable_export_deletion_threshold(session: Session) -> NoReturn:
    """Disable-ADSyncExportDeletionThreshold: interactive only, so it always raises InteractiveOnlyError."""
    raise refusal("Disable-ADSyncExportDeletionThreshold", target=session.target)


def set_aad_company_feature(session: Session, **features: bool) -> NoReturn:
    """Set-ADSyncAADCompanyFeature (2.6.84.0+ needs -AADUserName): always raises InteractiveOnlyError."""
    raise refusal("Set-ADSyncAADCompanyFeature", target=session.target)


def set_aad_password_sync_state(session: Session, *, enabled: bool) -> NoReturn:
    """Set-ADSyncAADPasswordSyncState (2.6.84.0+ needs -AADUserName): always raises InteractiveOnlyError."""
    raise refusal("Set-ADSyncAADPasswordSyncState", target=session.target)
