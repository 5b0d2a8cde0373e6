"""Which Microsoft Graph permission a request probably needs: named in the error when Graph answers 403.

Sources: the permission tables of the Microsoft Graph API reference (v1.0), at
https://learn.microsoft.com/graph/api/<page>: synchronization-synchronization-list-jobs,
synchronization-synchronizationjob-get, synchronization-synchronization-post-jobs,
synchronization-synchronizationjob-restart, synchronization-synchronizationjob-provisionondemand,
synchronization-synchronizationschema-get (application: least privileged
CustomSecAttributeProvisioning.Read.All, then Application.ReadWrite.OwnedBy,
CustomSecAttributeProvisioning.ReadWrite.All, Synchronization.Read.All, Synchronization.ReadWrite.All),
synchronization-synchronizationschema-update, synchronization-serviceprincipal-put-synchronization,
onpremisesdirectorysynchronization-get, serviceprincipal-list and organization-list. The secrets, read
or written, need Synchronization.ReadWrite.All or Application.ReadWrite.OwnedBy [I: the pages list it for
PUT; psbridge asks the same for GET].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OWNED_BY = "least privileged: Application.ReadWrite.OwnedBy, for service principals the app owns"


@dataclass(frozen=True)
class Requirement:
    permission: str  # the application permission to grant (admin consent)
    note: str = ""  # more to say: a lesser alternative, or why an app cannot have it at all

    def sentence(self) -> str:
        text = f"the app probably lacks the Microsoft Graph application permission {self.permission}"
        return f"{text} ({self.note}), or admin consent for it" if self.note else f"{text}, or admin consent for it"


_ONPREM = Requirement(
    "OnPremDirectorySynchronization.Read.All",
    "Graph allows it only as a delegated permission, for a Global Administrator; to change the setting, "
    "OnPremDirectorySynchronization.ReadWrite.All, also delegated only",
)
_SYNC_READ = Requirement("Synchronization.Read.All", _OWNED_BY)
_SCHEMA_READ = Requirement(
    "CustomSecAttributeProvisioning.Read.All",
    "least privileged for reading a synchronization schema; Synchronization.Read.All or "
    "Application.ReadWrite.OwnedBy also grant it",
)
_SYNC_WRITE = Requirement("Synchronization.ReadWrite.All", _OWNED_BY)

# (methods or None for any, pattern on the path without the /v1.0 or /beta prefix, lower case)
_TABLE: tuple[tuple[frozenset[str] | None, re.Pattern[str], Requirement], ...] = (
    (None, re.compile(r"^/directory/onpremisessynchronization(/|$)"), _ONPREM),
    # The secrets hold credentials: reading them needs the write permission too (inferred; docs/cloudsync.md,
    # Graph synchronization API).
    (None, re.compile(r"^/serviceprincipals/[^/]+/synchronization/secrets(/|$)"), _SYNC_WRITE),
    (frozenset({"GET"}), re.compile(r"^/serviceprincipals/[^/]+/synchronization/jobs/[^/]+/schema/?$"), _SCHEMA_READ),
    (frozenset({"GET"}), re.compile(r"^/serviceprincipals/[^/]+/synchronization(/|$)"), _SYNC_READ),
    (None, re.compile(r"^/serviceprincipals/[^/]+/synchronization(/|$)"), _SYNC_WRITE),
    (frozenset({"GET"}), re.compile(r"^/serviceprincipals(/[^/]+)?/?$"), Requirement("Application.Read.All")),
    (frozenset({"GET"}), re.compile(r"^/organization(/[^/]+)?/?$"), Requirement("Organization.Read.All")),
)
_API_PREFIX = re.compile(r"^/(v1\.0|beta)(?=/)", re.IGNORECASE)


def required_permission(method: str, path: str) -> Requirement | None:
    """The permission a request probably needs; `path` may carry the /v1.0 or /beta prefix."""
    relative = _API_PREFIX.sub("", path).lower()
    for methods, pattern, requirement in _TABLE:
        if (methods is None or method.upper() in methods) and pattern.search(relative):
            return requirement
    return None
