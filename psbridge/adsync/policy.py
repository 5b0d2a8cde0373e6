"""What Microsoft's lifecycle says about an Entra Connect Sync version (docs/adsync.md, Versions and lifecycle).

Pure data and logic: no I/O. Dates marked third-party come from transcriptions of Microsoft's version
history page and should be checked against the live page; they are reported as such.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM, REQUIRED_MINIMUM
from psbridge.versions import Version

Severity = Literal["info", "warning", "critical"]

# REQUIRED_MINIMUM: required since REQUIRED_SINCE, older builds stop synchronizing (psbridge.defaults).
REQUIRED_SINCE = dt.date(2026, 9, 30)
# Hardening deadline of 7 Apr 2025 (2.4.21.0 for non-commercial clouds).
HARDENING_MINIMUM = Version("2.4.18.0")
APP_AUTH_MINIMUM = Version("2.5.76.0")

# End of support, as third parties transcribed Microsoft's version history (third-party; docs/adsync.md, Versions and
# lifecycle).
END_OF_SUPPORT: dict[Version, dt.date] = {
    Version("2.3.8.0"): dt.date(2025, 4, 30),
    Version("2.3.20.0"): dt.date(2025, 4, 30),
    Version("2.4.18.0"): dt.date(2025, 10, 9),
    Version("2.4.21.0"): dt.date(2025, 11, 15),
    Version("2.4.27.0"): dt.date(2026, 1, 15),
    Version("2.4.129.0"): dt.date(2026, 3, 27),
    Version("2.4.131.0"): dt.date(2026, 5, 26),
    Version("2.5.3.0"): dt.date(2026, 7, 31),
    Version("2.5.76.0"): dt.date(2026, 9, 1),
    Version("2.5.79.0"): dt.date(2026, 10, 23),
    Version("2.5.190.0"): dt.date(2027, 2, 2),
    Version("2.6.1.0"): dt.date(2027, 3, 10),
    Version("2.6.3.0"): dt.date(2027, 7, 7),
    Version("2.6.84.0"): dt.date(2027, 9, 16),
    Version("2.6.91.0"): dt.date(2027, 9, 23),
}
WITHDRAWN = {Version("2.6.79.0"): "2.6.79.0 (June 2026) was withdrawn (third-party report)"}


@dataclasses.dataclass(frozen=True)
class PolicyNote:
    """One lifecycle fact about a version: `id` is stable, `message` is for people."""

    id: str
    severity: Severity
    message: str


def notes_for(
    version: Version,
    *,
    today: dt.date,
    cloud_managed_minimum: Version = CLOUD_MANAGED_DEFAULT_MINIMUM,
) -> list[PolicyNote]:
    notes: list[PolicyNote] = []
    if version.parts[0] < 2:
        notes.append(PolicyNote(id="v1-retired", severity="critical", message="1.x builds no longer work"))
    if version < REQUIRED_MINIMUM:
        past = today >= REQUIRED_SINCE
        notes.append(PolicyNote(
            id="required-2.5.79.0",
            severity="critical" if past else "warning",
            message=f"{REQUIRED_MINIMUM} or later is required {'since' if past else 'by'} {REQUIRED_SINCE:%d %b %Y}; "
            "older builds stop synchronizing",
        ))  # fmt: skip
    if version < HARDENING_MINIMUM:
        notes.append(PolicyNote(
            id="hardening-2.4.18.0", severity="critical",
            message="below 2.4.18.0 (2.4.21.0 outside commercial clouds), required by 07 Apr 2025: "
            "wizard sign-in and AD FS/PingFederate configuration no longer work",
        ))  # fmt: skip
    if version in WITHDRAWN:
        notes.append(PolicyNote(id="withdrawn", severity="warning", message=WITHDRAWN[version]))
    eos = END_OF_SUPPORT.get(version)
    if eos is not None:
        notes.append(PolicyNote(
            id="end-of-support",
            severity="warning" if eos <= today else "info",
            message=f"{version} {'went' if eos <= today else 'goes'} out of support on {eos:%d %b %Y} "
            "(third-party transcription of Microsoft's version history; check the live page)",
        ))  # fmt: skip
    meets = version >= cloud_managed_minimum
    notes.append(PolicyNote(
        id="exchange-cloud-managed",
        severity="info" if meets else "warning",
        message=f"cloud-managed Exchange attributes (Set-Mailbox -IsExchangeCloudManaged) "
        f"{'are' if meets else 'are not'} supported: needs {cloud_managed_minimum} (configurable; "
        "2.5.76.0 in the preview text, 2.5.190.0 in later sources, unconfirmed by Microsoft)",
    ))  # fmt: skip
    if version < APP_AUTH_MINIMUM:
        notes.append(PolicyNote(
            id="application-auth", severity="info",
            message="application-based authentication (replacing the Sync_* account) starts with 2.5.76.0",
        ))  # fmt: skip
    return notes
