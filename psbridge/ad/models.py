"""Typed results of the Active Directory wrappers (the ActiveDirectory module, on the `dc` target).

psbridge's docs/ pages do not cover the module; what these models read comes from Microsoft's cmdlet
pages (MicrosoftDocs/windows-powershell-docs, docset/winserver2022-ps/activedirectory/):
- Get-ADUser's default properties (its example 3): DistinguishedName, Enabled, GivenName, Name,
  ObjectClass, ObjectGUID, SamAccountName, SID, Surname, UserPrincipalName; MemberOf on request.
- Get-ADGroup's (example 1): DistinguishedName, GroupCategory, GroupScope, Name, ObjectClass, ObjectGUID,
  SamAccountName, SID. Get-ADGroupMember returns ADPrincipal objects whose names it writes in another
  case: distinguishedName, name, objectClass, objectGUID, SamAccountName, SID.
- Get-ADOrganizationalUnit returns ADOrganizationalUnit objects (Name, DistinguishedName, ...).
- The class tree (about_ActiveDirectory_ObjectModel): ADEntity > ADObject > ADPrincipal > ADAccount >
  ADUser; ADPrincipal > ADGroup; ADObject > ADOrganizationalUnit. The models follow it.

PowerShell matches property names without regard to case, and so do these models. Multi-valued
properties (MemberOf) arrive as a list, or as an object wrapping one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from psbridge.models import PSModel, multi_valued
from psbridge.result import PSObjectData
from psbridge.types import OptionalBool


def _names(value: Any) -> Any:
    return tuple(str(v) for v in multi_valued(value))


def _text(value: Any) -> Any:
    """A value that crossed as an object (a SecurityIdentifier, an enum): its text."""
    if isinstance(value, PSObjectData):
        return value.to_string
    return value


Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
Text = Annotated[str | None, BeforeValidator(_text)]


def dn_key(distinguished_name: str) -> str:
    """Distinguished names compare without regard to case."""
    return distinguished_name.strip().casefold()


class ADObject(PSModel):
    """What every Active Directory object has: its distinguished name, name, class and GUID."""

    distinguished_name: str = Field(alias="DistinguishedName")
    name: Text = Field(default=None, alias="Name")
    object_class: Text = Field(default=None, alias="ObjectClass")
    object_guid: uuid.UUID | None = Field(default=None, alias="ObjectGUID")

    @model_validator(mode="before")
    @classmethod
    def _any_case(cls, data: Any) -> Any:
        """Property names in any case (Get-ADGroupMember writes distinguishedName, Get-ADUser DistinguishedName)."""
        if not isinstance(data, Mapping):
            return data
        known = {(field.alias or name).casefold(): field.alias or name for name, field in cls.model_fields.items()}
        return {known.get(str(key).casefold(), key): value for key, value in data.items()}


class ADPrincipal(ADObject):
    """A user, group or computer: what Get-ADGroupMember returns for each member."""

    sam_account_name: Text = Field(default=None, alias="SamAccountName")


class ADUser(ADPrincipal):
    """A user (Get-ADUser), with the groups it is a direct member of (`member_of`, group DNs)."""

    user_principal_name: Text = Field(default=None, alias="UserPrincipalName")
    enabled: OptionalBool = Field(default=None, alias="Enabled")
    member_of: Names = Field(default=(), alias="MemberOf")

    def is_member_of(self, group_dn: str) -> bool:
        """A direct member of the group with this distinguished name (nested membership does not count)."""
        return dn_key(group_dn) in {dn_key(dn) for dn in self.member_of}


class ADGroup(ADPrincipal):
    """A group (Get-ADGroup)."""


class OrganizationalUnit(ADObject):
    """An organizational unit (Get-ADOrganizationalUnit)."""


class GroupMembership(PSModel):
    """Whether a user is a direct member of a group: the state that add/remove_group_member change."""

    group: ADGroup
    member: ADUser
    is_member: bool


class OUCheck(PSModel):
    """One scoping OU checked against AD (`psbridge.ad.check_ous`).

    `given` is the DN as typed (stripped); `valid` whether it is a DN at all (`problem` says why not);
    `exists` whether AD has the OU, then `distinguished_name` as AD writes it. `partition` is the given
    domain partition it lies in; `nearest_existing` the closest ancestor that exists, for a missing OU.
    """

    given: str
    valid: bool
    exists: bool
    distinguished_name: str | None = None
    partition: str | None = None
    nearest_existing: str | None = None
    problem: str | None = None
