"""Active Directory wrappers: cmdlets of the ActiveDirectory module, on a domain controller or any host
that has the module (the `dc` target), over its Windows PowerShell `Microsoft.PowerShell` endpoint.

Every value is bound as a parameter, never pasted into PowerShell text. The one query psbridge builds,
the LDAP filter that finds a user by UPN, escapes the value as RFC 4515 says (`_ldap_escape`).

An object that is not there raises ObjectNotFoundError (the module's ADIdentityNotFoundException:
`Cannot find an object with identity: '<id>' under: '<domain DN>'.`), except in
`get_organizational_unit`, which returns None. Membership changes read first, send nothing when the
user is already (or already not) a member, take `dry_run`, and return a Change; they run with
-Confirm:$false (Remove-ADGroupMember confirms by default): confirming is the caller's.
"""

from __future__ import annotations

import re
from typing import TypeVar

from psbridge.ad.models import (
    ADGroup,
    ADObject,
    ADPrincipal,
    ADUser,
    GroupMembership,
    OrganizationalUnit,
    dn_key,
)
from psbridge.command import Command, ErrorRule, Value
from psbridge.errors import CommandNotFoundError, InputError, ObjectNotFoundError
from psbridge.models import Change, from_output, only
from psbridge.session import Session

NOT_FOUND_EXCEPTION = "Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException"
MODULE_NOTE = "the dc target needs the ActiveDirectory module (RSAT-AD-PowerShell on a server that is not a DC)"
AD_ERRORS = (
    ErrorRule(ObjectNotFoundError, exception_type=NOT_FOUND_EXCEPTION),
    ErrorRule(CommandNotFoundError, error_id_prefix="CommandNotFoundException", note=MODULE_NOTE),
)
_DN = re.compile(r"^\s*[A-Za-z][A-Za-z0-9-]*\s*=")  # starts like CN=, OU=, DC=
# Read with every user: the groups it is a direct member of.
USER_PROPERTIES = ("MemberOf",)

M = TypeVar("M", bound=ADObject)


def _cmdlet(name: str, parameters: dict[str, Value]) -> Command:
    """Every AD cmdlet psbridge sends may be repeated safely (adding a member twice is a no-op), so is retried."""
    return Command.cmdlet(name, parameters, error_rules=AD_ERRORS)


def _identity(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"a {what} identity is required")
    return value.strip()


def _ldap_escape(value: str) -> str:
    """A value for an LDAP filter, RFC 4515 §3: backslash, `*`, `(`, `)` and NUL as `\\5c`, `\\2a`, `\\28`, ..."""
    return "".join(f"\\{ord(ch):02x}" if ch in "\\*()\0" else ch for ch in value)


def _one(model: type[M], session: Session, command: Command, identity: str) -> M:
    output = session.invoke(command).output
    return only(model, output, command=command.display(), target=session.target, identity=identity)


# -- users and groups -------------------------------------------------------------------------------------


def get_ad_user(session: Session, *, identity: str) -> ADUser:
    """A user with the groups it is a direct member of; wraps Get-ADUser -Properties MemberOf.

    `identity` is a distinguished name, GUID, SID or sAMAccountName (Get-ADUser -Identity), or a user
    principal name: -Identity does not take UPNs, so an identity with `@` that is not a DN (`CN=...`) is
    looked up with -LDAPFilter (userPrincipalName=...), its value escaped.
    """
    identity = _identity(identity, "user")
    return _one(ADUser, session, _user_command(identity), identity)


def _user_command(identity: str) -> Command:
    """Get-ADUser for an identity (-Identity), or for a UPN (`@`, not a DN): -LDAPFilter, its value escaped."""
    upn = "@" in identity and not _DN.match(identity)
    where: dict[str, Value] = (
        {"LDAPFilter": f"(userPrincipalName={_ldap_escape(identity)})"} if upn else {"Identity": identity}
    )
    return _cmdlet("Get-ADUser", {**where, "Properties": list(USER_PROPERTIES)})


def get_ad_group(session: Session, *, identity: str) -> ADGroup:
    """A group by distinguished name, GUID, SID or sAMAccountName; wraps Get-ADGroup -Identity."""
    identity = _identity(identity, "group")
    return _one(ADGroup, session, _cmdlet("Get-ADGroup", {"Identity": identity}), identity)


def get_group_members(session: Session, *, group: str) -> list[ADPrincipal]:
    """The direct members of a group (users, groups, computers); wraps Get-ADGroupMember -Identity."""
    group = _identity(group, "group")
    command = _cmdlet("Get-ADGroupMember", {"Identity": group})
    return from_output(ADPrincipal, session.invoke(command).output, command=command.display(), target=session.target)


def _membership(session: Session, group: str, member: str) -> GroupMembership:
    """The user's MemberOf against the group's DN: no listing of the group, however large it is."""
    user = get_ad_user(session, identity=member)
    found = get_ad_group(session, identity=group)
    return GroupMembership(group=found, member=user, is_member=user.is_member_of(found.distinguished_name))


def is_group_member(session: Session, *, group: str, member: str) -> bool:
    """Whether a user is a direct member of a group; reads Get-ADUser -Properties MemberOf and Get-ADGroup.

    `member` is any identity `get_ad_user` takes (a UPN too); `group` one Get-ADGroup -Identity takes.
    """
    return _membership(session, group, member).is_member


def _set_membership(session: Session, group: str, member: str, wanted: bool, dry_run: bool) -> Change[GroupMembership]:
    before = _membership(session, group, member)
    group_dn = before.group.distinguished_name
    others = tuple(dn for dn in before.member.member_of if dn_key(dn) != dn_key(group_dn))
    member_after = before.member.model_copy(update={"member_of": (*others, group_dn) if wanted else others})
    after = before.model_copy(update={"is_member": wanted, "member": member_after})
    changed = before.is_member != wanted
    if changed and not dry_run:
        name = "Add-ADGroupMember" if wanted else "Remove-ADGroupMember"
        change: dict[str, Value] = {
            "Identity": group_dn,
            "Members": before.member.distinguished_name,
            "Confirm": False,
        }
        # Permissive modify (the default) makes adding a member, or removing a non-member, a no-op: safe to repeat.
        session.invoke(_cmdlet(name, change))
    return Change[GroupMembership](changed=changed, dry_run=dry_run, before=before, after=after)


def add_group_member(session: Session, *, group: str, member: str, dry_run: bool = False) -> Change[GroupMembership]:
    """Make a user a direct member of a group; wraps Add-ADGroupMember -Confirm:$false, sent only when it is not."""
    return _set_membership(session, group, member, True, dry_run)


def remove_group_member(session: Session, *, group: str, member: str, dry_run: bool = False) -> Change[GroupMembership]:
    """Take a user out of a group; wraps Remove-ADGroupMember -Confirm:$false, sent only when it is a member."""
    return _set_membership(session, group, member, False, dry_run)


# -- organizational units -----------------------------------------------------------------------------------


def get_organizational_unit(session: Session, *, identity: str) -> OrganizationalUnit | None:
    """An OU by distinguished name or GUID, or None when there is none; wraps Get-ADOrganizationalUnit -Identity.

    Checking the DN's syntax is the caller's: the cmdlet takes what it is given.
    """
    identity = _identity(identity, "organizational unit")
    try:
        return _one(OrganizationalUnit, session, _cmdlet("Get-ADOrganizationalUnit", {"Identity": identity}), identity)
    except ObjectNotFoundError:
        return None
