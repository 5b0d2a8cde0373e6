"""Typed results of the Exchange Online and Exchange Server wrappers (the facts behind them: docs/exchange.md).

Recipient types are str-based enums that keep a value they do not know (Microsoft adds types, e.g.
the cloud-only GuestMailUser): an unknown value becomes a member of its own instead of failing.
Fields accept both wire shapes docs/exchange.md describes: projected flat objects from the jump host,
and full objects from the on-premises `Microsoft.Exchange` endpoint (EmailAddresses as a list, an
`<Obj>` wrapping a list, or a single string; ADObjectId as its text).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, computed_field, model_validator

from psbridge.models import PSModel, multi_valued
from psbridge.result import PSObjectData
from psbridge.types import Bool, DateTime, OptionalBool

TENANT_ROUTING_SUFFIX = ".mail.onmicrosoft.com"


class OpenStrEnum(enum.StrEnum):
    """A str enum that keeps an unknown value as a member of its own, named after the value."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str) or not value:
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)


class RecipientType(OpenStrEnum):
    """`RecipientType` (docs/exchange.md, Mailboxes and recipients)."""

    INVALID = "Invalid"
    USER = "User"
    USER_MAILBOX = "UserMailbox"
    MAIL_USER = "MailUser"
    CONTACT = "Contact"
    MAIL_CONTACT = "MailContact"
    GROUP = "Group"
    MAIL_UNIVERSAL_DISTRIBUTION_GROUP = "MailUniversalDistributionGroup"
    MAIL_UNIVERSAL_SECURITY_GROUP = "MailUniversalSecurityGroup"
    MAIL_NON_UNIVERSAL_GROUP = "MailNonUniversalGroup"
    DYNAMIC_DISTRIBUTION_GROUP = "DynamicDistributionGroup"
    PUBLIC_FOLDER = "PublicFolder"
    PUBLIC_DATABASE = "PublicDatabase"
    SYSTEM_ATTENDANT_MAILBOX = "SystemAttendantMailbox"
    SYSTEM_MAILBOX = "SystemMailbox"
    MICROSOFT_EXCHANGE = "MicrosoftExchange"
    COMPUTER = "Computer"


class RecipientTypeDetails(OpenStrEnum):
    """`RecipientTypeDetails` names as cmdlets return them (docs/exchange.md), plus the cloud-only names
    of the docs' valid-value lists."""

    USER_MAILBOX = "UserMailbox"
    LINKED_MAILBOX = "LinkedMailbox"
    SHARED_MAILBOX = "SharedMailbox"
    LEGACY_MAILBOX = "LegacyMailbox"
    ROOM_MAILBOX = "RoomMailbox"
    EQUIPMENT_MAILBOX = "EquipmentMailbox"
    MAIL_CONTACT = "MailContact"
    MAIL_USER = "MailUser"
    MAIL_UNIVERSAL_DISTRIBUTION_GROUP = "MailUniversalDistributionGroup"
    MAIL_NON_UNIVERSAL_GROUP = "MailNonUniversalGroup"
    MAIL_UNIVERSAL_SECURITY_GROUP = "MailUniversalSecurityGroup"
    DYNAMIC_DISTRIBUTION_GROUP = "DynamicDistributionGroup"
    PUBLIC_FOLDER = "PublicFolder"
    SYSTEM_ATTENDANT_MAILBOX = "SystemAttendantMailbox"
    SYSTEM_MAILBOX = "SystemMailbox"
    MAIL_FOREST_CONTACT = "MailForestContact"
    USER = "User"
    CONTACT = "Contact"
    UNIVERSAL_DISTRIBUTION_GROUP = "UniversalDistributionGroup"
    UNIVERSAL_SECURITY_GROUP = "UniversalSecurityGroup"
    NON_UNIVERSAL_GROUP = "NonUniversalGroup"
    DISABLED_USER = "DisabledUser"
    MICROSOFT_EXCHANGE = "MicrosoftExchange"
    ARBITRATION_MAILBOX = "ArbitrationMailbox"
    MAILBOX_PLAN = "MailboxPlan"
    LINKED_USER = "LinkedUser"
    ROOM_LIST = "RoomList"
    DISCOVERY_MAILBOX = "DiscoveryMailbox"
    ROLE_GROUP = "RoleGroup"
    REMOTE_USER_MAILBOX = "RemoteUserMailbox"
    COMPUTER = "Computer"
    REMOTE_ROOM_MAILBOX = "RemoteRoomMailbox"
    REMOTE_EQUIPMENT_MAILBOX = "RemoteEquipmentMailbox"
    REMOTE_SHARED_MAILBOX = "RemoteSharedMailbox"
    PUBLIC_FOLDER_MAILBOX = "PublicFolderMailbox"
    TEAM_MAILBOX = "TeamMailbox"
    REMOTE_TEAM_MAILBOX = "RemoteTeamMailbox"
    MONITORING_MAILBOX = "MonitoringMailbox"
    GROUP_MAILBOX = "GroupMailbox"
    LINKED_ROOM_MAILBOX = "LinkedRoomMailbox"
    AUDIT_LOG_MAILBOX = "AuditLogMailbox"
    REMOTE_GROUP_MAILBOX = "RemoteGroupMailbox"
    GUEST_MAIL_USER = "GuestMailUser"
    SHARED_WITH_MAIL_USER = "SharedWithMailUser"
    SCHEDULING_MAILBOX = "SchedulingMailbox"


class DomainType(OpenStrEnum):
    """An accepted domain's `DomainType` (docs/exchange.md, Routing domain (HCW8001))."""

    AUTHORITATIVE = "Authoritative"
    EXTERNAL_RELAY = "ExternalRelay"
    INTERNAL_RELAY = "InternalRelay"


# -- value shapes -------------------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """An ADObjectId, SmtpAddress or similar object: its text form."""
    if isinstance(value, PSObjectData):
        return value.to_string if value.to_string is not None else str(value.value or "")
    return "" if value is None else value


def _proxy_addresses(value: Any) -> Any:
    """EmailAddresses: a list, an `<Obj>` wrapping a list (ProxyAddressCollection), or one string. Never a
    mapping, whose keys would pass for addresses: Windows PowerShell 5.1's ConvertTo-Json writes an array
    wrapped in a PSObject as {"value": [...], "Count": n}, which the runner script's JSON pages avoid."""
    if isinstance(value, Mapping):
        raise ValueError(f"a list of proxy addresses, not an object with keys {sorted(value)}")
    return tuple(str(_text(v)) for v in multi_valued(value))


def _no_previous(value: Any) -> Any:
    """PreviousRecipientTypeDetails: `$null`, empty or `None` all mean no previous mailbox."""
    value = _text(value)
    return None if value in ("", "None") else value


def _guid(value: Any) -> Any:
    return None if value in (None, "") else value


Text = Annotated[str, BeforeValidator(_text)]
ProxyAddresses = Annotated[tuple[str, ...], BeforeValidator(_proxy_addresses)]
Guid = Annotated[uuid.UUID | None, BeforeValidator(_guid)]


def primary_smtp(addresses: tuple[str, ...]) -> str | None:
    """The address marked `SMTP:` (docs/exchange.md), without its prefix."""
    return next((a[5:] for a in addresses if a.startswith("SMTP:")), None)


# -- recipients ---------------------------------------------------------------------------------------


class Recipient(PSModel):
    """What every mail-enabled recipient psbridge reads has, online or on-premises."""

    identity: Text = Field(alias="Identity")
    display_name: Text = Field(default="", alias="DisplayName")
    user_principal_name: str | None = Field(default=None, alias="UserPrincipalName")
    primary_smtp_address: Text = Field(default="", alias="PrimarySmtpAddress")
    email_addresses: ProxyAddresses = Field(default=(), alias="EmailAddresses")
    exchange_guid: Guid = Field(default=None, alias="ExchangeGuid")
    recipient_type_details: RecipientTypeDetails = Field(alias="RecipientTypeDetails")
    when_changed: DateTime = Field(default=None, alias="WhenChanged")

    @model_validator(mode="before")
    @classmethod
    def _utc_first(cls, data: Any) -> Any:
        """A full Exchange object has WhenChanged (server-local, with offset) and WhenChangedUTC."""
        if isinstance(data, Mapping) and data.get("WhenChangedUTC") is not None:
            return {**data, "WhenChanged": data["WhenChangedUTC"]}
        return data


class Mailbox(Recipient):
    """An Exchange Online mailbox (Get-Mailbox), with its Exchange attributes' source of authority.

    `is_exchange_cloud_managed` True: the Exchange attributes of this dir-synced mailbox are managed
    in Exchange Online; identity attributes stay mastered in AD (docs/exchange.md, Cloud-managed Exchange attributes).
    """

    is_dir_synced: Bool = Field(alias="IsDirSynced")
    is_exchange_cloud_managed: Bool = Field(alias="IsExchangeCloudManaged")


class MailboxAttributes(PSModel):
    """Exchange attributes of one mailbox by their PowerShell names, as set_mailbox_attributes reads them."""

    identity: str
    values: dict[str, str | bool | None]


class ServerRecipient(Recipient):
    """A mailbox, remote mailbox or mail user on Exchange Server (on-premises Get-Mailbox,
    Get-RemoteMailbox, Get-MailUser): `recipient_type_details` tells which. A remote mailbox is the AD
    mail user of a cloud mailbox (docs/exchange.md); its `remote_routing_address` points at the tenant routing domain.
    """

    remote_routing_address: Text | None = Field(default=None, alias="RemoteRoutingAddress")


class User(PSModel):
    """A user as Get-User sees it, with the recipient types that tell a mailbox's history (docs/exchange.md)."""

    identity: Text = Field(alias="Identity")
    name: Text = Field(default="", alias="Name")
    display_name: Text = Field(default="", alias="DisplayName")
    user_principal_name: str | None = Field(default=None, alias="UserPrincipalName")
    recipient_type: RecipientType = Field(alias="RecipientType")
    recipient_type_details: RecipientTypeDetails = Field(alias="RecipientTypeDetails")
    previous_recipient_type_details: Annotated[RecipientTypeDetails | None, BeforeValidator(_no_previous)] = Field(
        default=None, alias="PreviousRecipientTypeDetails"
    )
    is_dir_synced: OptionalBool = Field(default=None, alias="IsDirSynced")
    when_changed: DateTime = Field(default=None, alias="WhenChanged")

    @property
    def has_previous_mailbox_info(self) -> bool:
        """A mail user that still points at an earlier cloud mailbox ("unclean", docs/exchange.md)."""
        return self.recipient_type_details == RecipientTypeDetails.MAIL_USER and (
            self.previous_recipient_type_details is not None
        )


# -- organization and domains -------------------------------------------------------------------------


class OrganizationConfig(PSModel):
    """Whether new dir-synced mailboxes get cloud-managed Exchange attributes (docs/exchange.md).

    Which Get-OrganizationConfig property shows the default is not documented: a property named like
    the switch (`ExchangeAttributesCloudManagedByDefault`) is read first, then the one a runbook cites
    (`BlockExchangeProvisioningFromOnPremEnabled`). `source_property` names the one read; None when
    the tenant reports neither, and then `cloud_managed_by_default` is None (unknown).
    """

    identity: Text = Field(default="", alias="Identity")
    cloud_managed_by_default: bool | None = None
    source_property: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "cloud_managed_by_default" in data:
            return data
        for name in ("ExchangeAttributesCloudManagedByDefault", "BlockExchangeProvisioningFromOnPremEnabled"):
            value = data.get(name)
            if isinstance(value, str):
                value = {"true": True, "false": False}.get(value.strip().lower())
            if isinstance(value, bool):
                return {**data, "cloud_managed_by_default": value, "source_property": name}
        return data


class AcceptedDomain(PSModel):
    """An accepted domain (Get-AcceptedDomain, docs/exchange.md)."""

    name: Text = Field(default="", alias="Name")
    domain_name: Text = Field(alias="DomainName")
    domain_type: DomainType = Field(alias="DomainType")
    default: Bool = Field(default=False, alias="Default")
    initial_domain: OptionalBool = Field(default=None, alias="InitialDomain")
    is_coexistence_domain: OptionalBool = Field(default=None, alias="IsCoexistenceDomain")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_tenant_routing_domain(self) -> bool:
        """`<tenant>.mail.onmicrosoft.com`: the hybrid routing domain HCW needs (HCW8001 without it)."""
        return self.domain_name.lower().endswith(TENANT_ROUTING_SUFFIX)


class AcceptedDomains(PSModel):
    """Every accepted domain, and whether the tenant routing domain is among them."""

    domains: tuple[AcceptedDomain, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tenant_routing_domain(self) -> str | None:
        return next((d.domain_name for d in self.domains if d.is_tenant_routing_domain), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_tenant_routing_domain(self) -> bool:
        return self.tenant_routing_domain is not None
