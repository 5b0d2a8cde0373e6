"""Checking the OUs a Cloud Sync configuration will be scoped to, and the distinguished-name arithmetic it needs.

The Cloud Sync portal cannot browse AD: each scoping OU is typed as a distinguished name (issue 17).
`check_ous` says, for each DN given, whether it is a syntactically valid DN, whether the OU exists
(Get-ADOrganizationalUnit -Identity, bound as a parameter), which of the given domain partitions it lies in,
and, for a missing one, its nearest existing ancestor: one lookup per parent OU, walking up the DN, which
shows which part is wrong. No wrapper lists an OU's children, so no sibling is suggested by name. The
migration preflight (`psbridge check cloud-sync-migration`) turns each result into its `scoping-ou` check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from psbridge.ad.functions import get_organizational_unit
from psbridge.ad.models import OUCheck
from psbridge.errors import InputError, RemoteCommandError
from psbridge.session import Session

# A DN's RDNs are separated by commas that are not escaped (RFC 4514 section 2.4).
SEPARATOR = re.compile(r"(?<!\\)\s*,\s*")


def dn_parts(dn: str) -> list[str]:
    """A DN's RDNs, casefolded: `OU=Sales, DC=contoso` -> ['ou=sales', 'dc=contoso']."""
    return [part.casefold() for part in SEPARATOR.split(dn.strip())]


def partition_of(dn: str, partitions: Sequence[str]) -> str | None:
    """The partition `dn` lies in (the one with the most parts, should partitions nest)."""
    parts = dn_parts(dn)
    inside = [p for p in partitions if (tail := dn_parts(p)) and parts[-len(tail) :] == tail]
    return max(inside, key=lambda p: len(dn_parts(p)), default=None)


def domain_fqdn(dn: str) -> str:
    """DC=contoso,DC=example -> contoso.example."""
    return ".".join(p.split("=", 1)[1].strip() for p in SEPARATOR.split(dn) if p.strip().lower().startswith("dc="))


def check_ous(session: Session, *, dns: Sequence[str], partitions: Sequence[str] = ()) -> list[OUCheck]:
    """Each OU checked against AD, once per distinct DN, in the order given; wraps Get-ADOrganizationalUnit -Identity.

    `partitions` are the domain partitions the OUs should lie in (e.g. those Connect Sync syncs): each
    result names the one its OU lies in, and a missing OU's walk up its DN stops at it.

    Raises:
        RemoteCommandError: the domain controller answered a lookup with an error (other than not found).
    """
    given = dict.fromkeys(d.strip() for d in dns if isinstance(d, str) and d.strip())
    return [_check(session, dn, partitions) for dn in given]


def _check(session: Session, given: str, partitions: Sequence[str]) -> OUCheck:
    from psbridge.cloudsync.graph import check_distinguished_name

    try:
        dn = check_distinguished_name(given)
    except InputError as exc:
        return OUCheck(given=given, valid=False, exists=False, problem=str(exc))
    found = get_organizational_unit(session, identity=dn)
    partition = partition_of(dn, partitions)
    if found is None:
        nearest = _nearest_existing(session, dn, partitions)
        return OUCheck(given=dn, valid=True, exists=False, partition=partition, nearest_existing=nearest)
    return OUCheck(given=dn, valid=True, exists=True, distinguished_name=found.distinguished_name, partition=partition)


def _nearest_existing(session: Session, dn: str, partitions: Sequence[str]) -> str | None:
    """The nearest ancestor of a missing OU that exists: a parent OU found in AD, or the domain partition
    among `partitions` it lies in; None when the chain leaves both (a CN= container, an unknown domain) or
    a lookup fails."""
    parts = SEPARATOR.split(dn.strip())
    for index in range(1, len(parts)):
        parent, kind = ",".join(parts[index:]), parts[index].strip()[:3].casefold()
        if kind == "dc=":
            return next((p for p in partitions if dn_parts(p) == dn_parts(parent)), None)
        if kind != "ou=":
            return None
        try:
            found = get_organizational_unit(session, identity=parent)
        except RemoteCommandError:
            return None
        if found is not None:
            return found.distinguished_name
    return None
