"""Exchange error classification, OPATH quoting, warning detection and the models' wire shapes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from psbridge import (
    AccessDeniedError,
    CommandNotFoundError,
    InputError,
    ObjectNotFoundError,
    RemoteCommandError,
    SyncedObjectError,
    TransientRemoteError,
)
from psbridge.exchange.models import (
    Mailbox,
    OrganizationConfig,
    RecipientTypeDetails,
    ServerRecipient,
)
from psbridge.exchange.rules import (
    EXO_ERRORS,
    check_mailbox_attributes,
    exception_type_named,
    is_truncation_warning,
    micro_delays,
    opath_filter,
    powershell_literal,
)
from psbridge.result import ErrorRecordData, PSObjectData
from psbridge.session import classify

NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"


def record(message: str, *, reason: str = "", exception_type: str = "System.Exception") -> ErrorRecordData:
    return ErrorRecordData(
        message=message, fully_qualified_error_id="[Server=X,RequestId=y,TimeStamp=z],Write-ErrorMessage",
        category="NotSpecified", reason=reason, exception_type=exception_type,
    )  # fmt: skip


# -- classification (docs/exchange.md, Errors) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason", "expected"),
    [
        (f"Ex6F9304|{NOT_FOUND}|The operation couldn't be performed because object 'x' couldn't be found on 'DC'.",
         "", ObjectNotFoundError),
        (f"Ex9E65A2|{NOT_FOUND}|The operation couldn't be performed because 'x' matches multiple entries.",
         "", ObjectNotFoundError),
        (f"Ex4215D1|{NOT_FOUND}|Recipient \"x\" couldn't be read from domain controller \"DC\". This may be due to "
         "replication delays.", "", TransientRemoteError),
        ("|Microsoft.Exchange.Hygiene.Data.TransientDALException|The Hygiene DAL retried a transient condition the "
         "maximum number of times.", "", TransientRemoteError),
        ("|Microsoft.Exchange.Data.Directory.ADServerSettingsChangedException|An error caused a change in the current "
         "set of domain controllers.", "", TransientRemoteError),
        ("Response status code does not indicate success: 429 (Too Many Requests).", "", TransientRemoteError),
        ("Response status code does not indicate success: 503 (Service Unavailable).", "", TransientRemoteError),
        ("Response status code does not indicate success: 403 (Forbidden).", "", AccessDeniedError),
        ("The request to 'https://outlook.office365.com/adminapi/beta/x/InvokeCommand' timed out after 100s",
         "", TransientRemoteError),
        ('Error while querying REST service. HttpStatusCode=401 ErrorMessage={"error":{"code":"Unauthorized"}}',
         "", AccessDeniedError),
        ("UnAuthorized", "", AccessDeniedError),
        ("The term 'Get-Mailbox' is not recognized as the name of a cmdlet, function, script file, or operable "
         "program.", "", CommandNotFoundError),
        # The write-scope error of an AD-mastered attribute, whatever type the segment names.
        ("|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The operation on mailbox \"A\" failed because "
         "it's out of the current user's write scope. The action 'Set-Mailbox', 'EmailAddresses', can't be performed "
         "on the object 'A' because the object is being synchronized from your on-premises organization.",
         "", SyncedObjectError),
        # The bare write-scope phrase is RBAC or a licence limit, not a synced object.
        ("The operation on mailbox \"A\" failed because it's out of the current user's write scope. The value of "
         "properties 'IssueWarningQuota' exceeds the maximum allowed for user A with license 'BPOS_S_Deskless'.",
         "", AccessDeniedError),
        # On-premises (RPS): no segment; the CategoryInfo reason names the type.
        ("The operation couldn't be performed because object 'x' couldn't be found on 'DC01.contoso.example'.",
         "ManagementObjectNotFoundException", ObjectNotFoundError),
        ("Something new went wrong.", "", RemoteCommandError),
    ],
)  # fmt: skip
def test_classification(message: str, reason: str, expected: type[RemoteCommandError]) -> None:
    assert classify(record(message, reason=reason), EXO_ERRORS) is expected


def test_the_segment_wins_over_the_reason_and_the_ex_code_is_ignored() -> None:
    message = f"ExFFFFFF|{NOT_FOUND}|object gone"
    assert exception_type_named(record(message, reason="RecipientTaskException")) == "ManagementObjectNotFoundException"
    assert exception_type_named(record("no segment here", reason="RecipientTaskException")) == "RecipientTaskException"
    assert exception_type_named(record("x", exception_type=NOT_FOUND)) == "ManagementObjectNotFoundException"
    # A message that merely contains the type name elsewhere names no type.
    assert exception_type_named(record(f"see {NOT_FOUND}| later")) == "Exception"


# -- warnings ------------------------------------------------------------------------------------------------------


def test_micro_delays_and_truncation() -> None:
    warnings = [
        "Micro delay applied. Actual delayed: 2315 msecs, Enforced",
        "some other warning",
        "WARNING: Micro delay applied. Actual delayed: 12.5 msecs, Enforced: True",
    ]
    assert micro_delays(warnings) == (2315.0, 12.5)
    assert micro_delays(["nothing"]) == ()
    assert is_truncation_warning("By default, only the first 1000 items are returned. Use the ResultSize ...")
    assert is_truncation_warning("There are more results available than currently displayed.")
    assert not is_truncation_warning(warnings[0])


# -- OPATH (docs/exchange.md) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("IsDirSynced -eq {}", (True,), "IsDirSynced -eq $true"),
        ("IsDirSynced -eq {}", (False,), "IsDirSynced -eq $false"),
        ("PreviousRecipientTypeDetails -ne {}", (None,), "PreviousRecipientTypeDetails -ne $null"),
        ("RecipientTypeDetails -eq {}", (RecipientTypeDetails.SHARED_MAILBOX,),
         "RecipientTypeDetails -eq 'SharedMailbox'"),
        ("ExchangeGuid -eq {}", (uuid.UUID(int=1),), "ExchangeGuid -eq '00000000-0000-0000-0000-000000000001'"),
        ("DisplayName -eq {}", ("O'Brien",), "DisplayName -eq 'O''Brien'"),
        ("DisplayName -like {}", ("' -or Name -like '*",), "DisplayName -like ''' -or Name -like ''*'"),
        ("Alias -eq {}", ("$(Remove-Mailbox x)",), "Alias -eq '$(Remove-Mailbox x)'"),
        ("Alias -eq {}", ('"quoted"`',), "Alias -eq '\"quoted\"`'"),
        ("CustomAttribute1 -eq {}", (7,), "CustomAttribute1 -eq 7"),
        ("A -eq {} -and B -eq {}", ("x", True), "A -eq 'x' -and B -eq $true"),
    ],
)  # fmt: skip
def test_opath_values_are_quoted(template: str, values: tuple[Any, ...], expected: str) -> None:
    assert opath_filter(template, *values) == expected


@pytest.mark.parametrize(
    ("template", "values", "match"),
    [
        ("A -eq {}", (), "placeholder"),
        ("A -eq {}", ("x", "y"), "placeholder"),
        ("A -eq {}", ("O\u2019Brien",), "typographic quote"),
        ("A -eq {}", (1.5,), "must be text"),
    ],
)
def test_opath_refuses_what_it_cannot_quote(template: str, values: tuple[Any, ...], match: str) -> None:
    with pytest.raises(InputError, match=match):
        opath_filter(template, *values)


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("RecipientTypeDetails -eq 'SharedMailbox'", "\"RecipientTypeDetails -eq 'SharedMailbox'\""),
        ("IsDirSynced -eq $true", "'IsDirSynced -eq $true'"),
        ("IsDirSynced -eq $false -and Name -eq 'O''B'", "'IsDirSynced -eq $false -and Name -eq ''O''''B'''"),
        ("Name -eq '\"x\"'", "'Name -eq ''\"x\"'''"),
        ("Name -eq '\u2019'", "'Name -eq ''\u2019\u2019'''"),
    ],
)
def test_powershell_literal_never_lets_powershell_expand_the_filter(text: str, literal: str) -> None:
    assert powershell_literal(text) == literal


# -- source of authority ------------------------------------------------------------------------------------------


def test_mailbox_attribute_check() -> None:
    check_mailbox_attributes(["CustomAttribute15", "alias", "HiddenFromAddressListsEnabled"])
    with pytest.raises(InputError, match="set_mailbox_email_addresses"):
        check_mailbox_attributes(["EmailAddresses"])
    with pytest.raises(InputError, match="does not set 'ForwardingAddress'"):
        check_mailbox_attributes(["ForwardingAddress"])


# -- models ----------------------------------------------------------------------------------------------------


def _mailbox(**changes: Any) -> dict[str, Any]:
    return {
        "Identity": "A", "RecipientTypeDetails": "UserMailbox", "IsDirSynced": "True",
        "IsExchangeCloudManaged": "False", "EmailAddresses": ["SMTP:a@x.example"], **changes,
    }  # fmt: skip


def test_mailbox_accepts_each_email_addresses_shape() -> None:
    wrapped = PSObjectData(("Microsoft.Exchange.Data.ProxyAddressCollection",), {}, None, ["SMTP:a@x", "smtp:b@x"])
    assert Mailbox.model_validate(_mailbox(EmailAddresses=wrapped)).email_addresses == ("SMTP:a@x", "smtp:b@x")
    assert Mailbox.model_validate(_mailbox(EmailAddresses="SMTP:a@x")).email_addresses == ("SMTP:a@x",)
    assert Mailbox.model_validate(_mailbox(EmailAddresses=None)).email_addresses == ()


def test_mailbox_booleans_from_text_are_parsed_not_truthy() -> None:
    mailbox = Mailbox.model_validate(_mailbox())
    assert mailbox.is_dir_synced is True and mailbox.is_exchange_cloud_managed is False


def test_server_objects_prefer_when_changed_utc_and_read_object_identities() -> None:
    identity = PSObjectData(("Microsoft.Exchange.Data.Directory.ADObjectId",), {}, "contoso.example/Users/A")
    found = ServerRecipient.model_validate({
        "Identity": identity, "RecipientTypeDetails": "RemoteUserMailbox",
        "WhenChanged": "2026-11-17T06:03:55-08:00", "WhenChangedUTC": "2026-11-17T14:03:55Z",
        "ExchangeGuid": "", "RemoteRoutingAddress": "a@contoso.mail.onmicrosoft.com",
    })  # fmt: skip
    assert found.identity == "contoso.example/Users/A" and found.exchange_guid is None
    assert found.when_changed is not None and found.when_changed.utcoffset() is not None
    assert found.when_changed.isoformat() == "2026-11-17T14:03:55+00:00"


@pytest.mark.parametrize(
    ("data", "value", "source"),
    [
        ({"ExchangeAttributesCloudManagedByDefault": True, "BlockExchangeProvisioningFromOnPremEnabled": False},
         True, "ExchangeAttributesCloudManagedByDefault"),
        ({"BlockExchangeProvisioningFromOnPremEnabled": "True"}, True, "BlockExchangeProvisioningFromOnPremEnabled"),
        ({"Identity": "t"}, None, None),
    ],
)  # fmt: skip
def test_organization_default_source(data: dict[str, Any], value: bool | None, source: str | None) -> None:
    config = OrganizationConfig.model_validate(data)
    assert (config.cloud_managed_by_default, config.source_property) == (value, source)
    assert OrganizationConfig.model_validate(config.model_dump()) == config


def test_unknown_recipient_type_keeps_its_value_and_round_trips() -> None:
    details = RecipientTypeDetails("RemoteFutureMailbox")
    assert details == "RemoteFutureMailbox" and details.value == "RemoteFutureMailbox"
    assert RecipientTypeDetails("RemoteFutureMailbox") is details
    assert RecipientTypeDetails("UserMailbox") is RecipientTypeDetails.USER_MAILBOX
    with pytest.raises(ValueError):
        RecipientTypeDetails("")
