"""Objects shaped as real hosts send them, through the real client path (pypsrp against the replay server).

Each case is the shape that pypsrp 0.9 alone decodes wrongly: a typed .NET collection (left as raw
`<LST>` text), an enum object, an object whose type names carry two `Deserialized.` prefixes (returned
as a string). psbridge's own decoder (`psbridge.transport.clixml`) must give the models right values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from psbridge import Session
from psbridge.ad import get_ad_user, is_group_member
from psbridge.command import Command
from psbridge.exchange import get_server_mailbox
from psbridge.exchange.models import AcceptedDomain, DomainType, RecipientTypeDetails
from psbridge.models import from_output
from psbridge.replay import shapes
from psbridge.result import EnumValue, PSObjectData

Factory = Callable[..., Session]
DANA = "dana@contoso.example"
GROUPS = ["CN=Sales,OU=Groups,DC=contoso,DC=example", "CN=M365-E5,OU=Licensing,DC=contoso,DC=example"]
ADDRESSES = ["SMTP:dana@contoso.example", "smtp:dana.smith@contoso.example", "X500:/o=Contoso/ou=Exchange/cn=dana"]
MAILBOX_TYPES = shapes.recipient("Mailbox")


def _mailbox(deserialized: int = 0) -> dict[str, Any]:
    """An on-premises Get-Mailbox object as the Microsoft.Exchange endpoint sends it: adapted properties,
    EmailAddresses a ProxyAddressCollection, enums as their names, times with the server's offset."""
    return {
        "type_names": MAILBOX_TYPES,
        "adapted": True,
        **({"deserialized": deserialized} if deserialized else {}),
        "to_string": "Dana Smith",
        "properties": {
            "Identity": "contoso.example/Users/Dana Smith",
            "DisplayName": "Dana Smith",
            "UserPrincipalName": DANA,
            "PrimarySmtpAddress": DANA,
            "EmailAddresses": {"ProxyAddressCollection": ADDRESSES},
            "ExchangeGuid": {"G": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"},
            "RecipientTypeDetails": "UserMailbox",
            "WhenChanged": {"DT": "2026-11-17T06:03:55-08:00"},
        },
    }


def _get_mailbox(output: dict[str, Any]) -> dict[str, Any]:
    return {"command": "Get-Mailbox", "parameters": [{"name": "Identity", "value": DANA}], "output": [output]}


def test_a_proxy_address_collection_arrives_as_its_addresses(replay_session: Factory) -> None:
    session = replay_session([_get_mailbox(_mailbox())])
    mailbox = get_server_mailbox(session, identity=DANA)
    assert mailbox.email_addresses == tuple(ADDRESSES)  # pypsrp alone gives one string of raw <LST> XML
    assert mailbox.when_changed == dt.datetime(2026, 11, 17, 14, 3, 55, tzinfo=dt.UTC)
    assert mailbox.when_changed is not None and mailbox.when_changed.utcoffset() == dt.timedelta(hours=-8)


def test_an_object_with_two_deserialized_prefixes_validates(replay_session: Factory) -> None:
    session = replay_session([_get_mailbox(_mailbox(deserialized=2))])
    raw = session.invoke(Command.cmdlet("Get-Mailbox", {"Identity": DANA})).output[0]
    assert isinstance(raw, PSObjectData)  # pypsrp alone returns the whole object as a string
    assert raw.type_names == tuple(MAILBOX_TYPES) and raw.is_a("Deserialized.Deserialized.System.Object")
    session = replay_session([_get_mailbox(_mailbox(deserialized=2))])
    assert get_server_mailbox(session, identity=DANA).email_addresses == tuple(ADDRESSES)


def test_an_ad_property_value_collection_arrives_as_its_values(replay_session: Factory) -> None:
    user = {
        "type_names": ["Microsoft.ActiveDirectory.Management.ADUser", "Microsoft.ActiveDirectory.Management.ADAccount",
                       "Microsoft.ActiveDirectory.Management.ADPrincipal",
                       "Microsoft.ActiveDirectory.Management.ADObject",
                       "Microsoft.ActiveDirectory.Management.ADEntity", "System.Object"],
        "adapted": True,
        "deserialized": 1,
        "properties": {
            "DistinguishedName": "CN=Dana Smith,OU=Staff,DC=contoso,DC=example",
            "SamAccountName": "dana",
            "UserPrincipalName": DANA,
            "Enabled": True,
            "ObjectGUID": {"G": "2b6f0d3e-8c1a-4e57-9f2d-6a0c4b8e1d73"},
            "MemberOf": {"ADPropertyValueCollection": GROUPS},
        },
    }  # fmt: skip
    group = {
        "type_names": ["Microsoft.ActiveDirectory.Management.ADGroup",
                       "Microsoft.ActiveDirectory.Management.ADPrincipal",
                       "Microsoft.ActiveDirectory.Management.ADObject",
                       "Microsoft.ActiveDirectory.Management.ADEntity", "System.Object"],
        "adapted": True,
        "deserialized": 1,
        "properties": {"DistinguishedName": GROUPS[1], "SamAccountName": "M365-E5", "Name": "M365-E5",
                       "ObjectGUID": {"G": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"}},
    }  # fmt: skip
    read_user = {
        "command": "Get-ADUser",
        "parameters": [
            {"name": "LDAPFilter", "value": f"(userPrincipalName={DANA})"},
            {"name": "Properties", "value": ["MemberOf"]},
        ],
        "output": [user],
    }
    read_group = {"command": "Get-ADGroup", "parameters": [{"name": "Identity", "value": "M365-E5"}], "output": [group]}
    session = replay_session([read_user, read_user, read_group])
    assert get_ad_user(session, identity=DANA).member_of == tuple(GROUPS)
    # pypsrp alone: MemberOf is one string of XML, and the membership check says "not a member"
    assert is_group_member(session, group="M365-E5", member=DANA) is True


def test_an_enum_object_arrives_as_its_name_with_its_number(replay_session: Factory) -> None:
    domain_type = {"Enum": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType",
                   "ToString": "InternalRelay", "I32": 2}  # fmt: skip
    details = {"Enum": "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails",
               "ToString": "UserMailbox", "I64": 1}  # fmt: skip
    domain = {
        "type_names": ["Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain",
                       "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
                       "Microsoft.Exchange.Data.Directory.ADObject", "Microsoft.Exchange.Data.Directory.ADRawEntry",
                       "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"],
        "adapted": True,
        "deserialized": 1,
        "properties": {"Name": "contoso.mail.onmicrosoft.com", "DomainName": "contoso.mail.onmicrosoft.com",
                       "DomainType": domain_type, "Default": False, "Details": details},
    }  # fmt: skip
    session = replay_session([{"command": "Get-AcceptedDomain", "output": [domain]}])
    result = session.invoke(Command.cmdlet("Get-AcceptedDomain"))
    (raw,) = result.output
    value = raw.get("DomainType")
    assert isinstance(value, EnumValue) and value == "InternalRelay" and value.number == 2
    assert value.type_names[:2] == ("Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType",
                                    "System.Enum")  # fmt: skip
    assert raw.get("Details") == RecipientTypeDetails.USER_MAILBOX and raw.get("Details").number == 1
    (model,) = from_output(AcceptedDomain, result.output, command="Get-AcceptedDomain", target=session.target)
    assert model.domain_type is DomainType.INTERNAL_RELAY and model.is_tenant_routing_domain


@pytest.mark.parametrize("flags", ["ProvisionMailbox, Migrated", "None"])
def test_a_flags_enum_keeps_its_text(replay_session: Factory, flags: str) -> None:
    remote = {"Enum": "Microsoft.Exchange.Data.Directory.Recipient.RemoteRecipientType", "ToString": flags,
              "I64": 5 if "," in flags else 0}  # fmt: skip
    obj = {"properties": {"RemoteRecipientType": remote}}
    session = replay_session([{"command": "Get-Thing", "output": [obj]}])
    (raw,) = session.invoke(Command.cmdlet("Get-Thing")).output
    assert raw.get("RemoteRecipientType") == flags
