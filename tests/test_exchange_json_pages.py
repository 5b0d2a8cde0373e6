"""A paged Exchange listing crosses as one JSON string per page (psbridge/ps/exchange/Invoke-ExchangeCommand.ps1's
header; docs/exchange.md, "Serialization and projection"), validated straight into the models.

Pages here are written as the script sends them from Windows PowerShell 5.1: `ConvertTo-Json -Compress`, whose
serializer writes `'`, `&`, `<` and `>` as \\u escapes; times as `ToString('o')` of a UTC DateTime (seven fractional
digits and a Z); arrays always as arrays. They are served by the replay server through the real pypsrp client.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from helpers import REPO
from pydantic import TypeAdapter

from psbridge import Session, UnexpectedOutputError
from psbridge import exchange as ex
from psbridge.exchange.models import User
from psbridge.exchange.runner import command, read_page
from psbridge.replay.transport import ReplayTransport

Factory = Callable[..., Session]
SCRIPT = "exchange/Invoke-ExchangeCommand.ps1"
UTC = dt.UTC
# A jump host at UTC-8: WhenChanged arrives as a Local DateTime, which the script converts before ToString('o').
PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def iso(when: dt.datetime) -> str:
    """The script's ConvertTo-IsoText: the time in UTC, DateTime.ToString('o') (7 fractional digits, Z)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def ps51_json(value: Any) -> str:
    """ConvertTo-Json -Compress as Windows PowerShell 5.1 writes it (JavaScriptSerializer's escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.translate({ord(c): f"\\u{ord(c):04x}" for c in "'&<>"})


def row(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "Identity": name, "DisplayName": name, "UserPrincipalName": f"{name.lower()}@contoso.example",
        "PrimarySmtpAddress": f"{name.lower()}@contoso.example",
        "EmailAddresses": [f"SMTP:{name.lower()}@contoso.example", f"smtp:{name.lower()}@contoso.mail.onmicrosoft.com"],
        "ExchangeGuid": "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c", "RecipientTypeDetails": "UserMailbox",
        "WhenChanged": iso(dt.datetime(2026, 11, 20, 9, 14, 2, tzinfo=UTC)), "IsDirSynced": True,
        "IsExchangeCloudManaged": False, **fields,
    }  # fmt: skip


def page(rows: list[dict[str, Any]], cursor: str | None = None, total: int | None = None, remaining: int = 0) -> str:
    total = len(rows) if total is None else total
    return ps51_json({"cursor": cursor, "total": total, "remaining": remaining, "rows": rows})


def listing(output: list[Any], *, page_size: int = 1000, cursor: str | None = None, **extra: Any) -> dict[str, Any]:
    """An episode of the runner script: the listing's first call (Get-Mailbox -ResultSize Unlimited), or with
    `cursor` a later page."""
    parameters: list[dict[str, Any]] = [{"name": "Command", "value": extra.pop("cmdlet", "Get-Mailbox")}]
    if cursor is None:
        parameters.append({"name": "Arguments", "value": extra.pop("arguments", {"ResultSize": "Unlimited"})})
    parameters.append({"name": "PageSize", "value": page_size})
    if cursor is not None:
        parameters.append({"name": "Cursor", "value": cursor})
    return {"script": SCRIPT, "parameters": parameters, "output": output, **extra}


# -- a page round trip ---------------------------------------------------------------------------------------


def test_a_page_reads_into_mailboxes_as_the_script_sends_it(replay_session: Factory) -> None:
    local = dt.datetime(2026, 11, 20, 1, 14, 2, 123456, tzinfo=PACIFIC)  # 09:14:02.123456 UTC
    rows = [
        row("Adele", WhenChanged=iso(local), DisplayName="Adele O'Brien & <Sales>", IsExchangeCloudManaged=True),
        row("Alex", EmailAddresses=[], ExchangeGuid=None, WhenChanged=None),
        row("Megan", EmailAddresses=["SMTP:megan@contoso.onmicrosoft.com"], IsDirSynced=False),
    ]
    text = page(rows)
    assert (
        "\\u0027" in text and '"EmailAddresses":[]' in text and '"WhenChanged":"2026-11-20T09:14:02.1234560Z"' in text
    )
    adele, alex, megan = ex.list_mailboxes(replay_session([listing([text])]))
    assert adele.when_changed == local and adele.when_changed.utcoffset() == dt.timedelta(0)
    assert adele.display_name == "Adele O'Brien & <Sales>"
    assert (adele.is_dir_synced, adele.is_exchange_cloud_managed) == (True, True)
    assert adele.email_addresses == ("SMTP:adele@contoso.example", "smtp:adele@contoso.mail.onmicrosoft.com")
    assert str(adele.exchange_guid) == "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c"
    assert (alex.email_addresses, alex.exchange_guid, alex.when_changed) == ((), None, None)
    assert megan.email_addresses == ("SMTP:megan@contoso.onmicrosoft.com",) and megan.is_dir_synced is False


def test_pydantic_reads_seven_fractional_digits_itself() -> None:
    """ToString('o') writes ticks (seven digits): pydantic's own parser keeps the microseconds, so the page's
    times do not depend on psbridge's time type trimming them."""
    when = TypeAdapter(dt.datetime).validate_json('"2026-11-20T09:14:02.1234567Z"')
    assert when == dt.datetime(2026, 11, 20, 9, 14, 2, 123456, tzinfo=UTC)


def test_a_page_reads_the_same_models_as_the_objects_of_a_read_by_identity(replay_session: Factory) -> None:
    """The JSON page and the CLIXML row of an unpaged read (the script's two outputs) give equal models."""
    clixml_row = {
        **row("Adele", IsExchangeCloudManaged=True),
        "EmailAddresses": {"Object[]": ["SMTP:adele@contoso.example"]},
        "WhenChanged": {"DT": "2026-11-20T09:14:02.1234567Z"},  # the UTC DateTime the script keeps unpaged
    }
    json_row = row("Adele", IsExchangeCloudManaged=True, EmailAddresses=["SMTP:adele@contoso.example"],
                   WhenChanged="2026-11-20T09:14:02.1234567Z")  # fmt: skip
    session = replay_session([
        listing([page([json_row])]),
        {"script": SCRIPT, "parameters": [{"name": "Command", "value": "Get-Mailbox"},
                                          {"name": "Arguments", "value": {"Identity": "adele@contoso.example"}}],
         "output": [{"properties": clixml_row}]},
    ])  # fmt: skip
    (listed,) = ex.list_mailboxes(session)
    assert listed == ex.get_mailbox(session, identity="adele@contoso.example")


def test_null_flags_and_a_null_previous_type_read_as_not_reported(replay_session: Factory) -> None:
    """Get-User paged: IsDirSynced and PreviousRecipientTypeDetails sent as JSON null are None, never False."""
    user = {
        "Identity": "Lee Gu", "Name": "Lee Gu", "DisplayName": "Lee Gu", "UserPrincipalName": "lee@contoso.example",
        "RecipientType": "MailUser", "RecipientTypeDetails": "MailUser", "PreviousRecipientTypeDetails": None,
        "IsDirSynced": None, "WhenChanged": iso(dt.datetime(2026, 8, 30, 10, 12, 9, tzinfo=UTC)),
    }  # fmt: skip
    session = replay_session(
        [listing([page([user])], cmdlet="Get-User", arguments={"Identity": "lee@contoso.example"})]
    )
    result = session.invoke(command("Get-User", {"Identity": "lee@contoso.example"}, page_size=1000))
    (lee,) = read_page(User, result, session).rows
    assert (lee.is_dir_synced, lee.previous_recipient_type_details) == (None, None)
    assert lee.when_changed == dt.datetime(2026, 8, 30, 10, 12, 9, tzinfo=UTC)


# -- pages that cannot be read -------------------------------------------------------------------------------

BAD_PAGES = {
    "not JSON (cut short)": (page([row("Adele")])[:-40], "(the page)", "Invalid JSON"),
    "5.1's own date form": (page([row("Adele", WhenChanged="\\/Date(1763629442000)\\/")]), "rows.0.WhenChanged", ""),
    "a date in no known form": (page([row("Adele", WhenChanged="yesterday")]), "rows.0.WhenChanged", ""),
    "a row without Identity": (ps51_json({"cursor": None, "total": 1, "remaining": 0, "rows": [
        {k: v for k, v in row("Adele").items() if k != "Identity"}]}), "rows.0.Identity", "Field required"),
    "a mailbox flag not reported": (page([row("Adele", IsExchangeCloudManaged=None)]), "rows.0.IsExchangeCloudManaged",
                                    ""),
    "an array collapsed to an object": (page([row("Adele", EmailAddresses={"value": ["SMTP:a@x"], "Count": 1})]),
                                        "rows.0.EmailAddresses", ""),
    "no total": ('{"cursor":null,"remaining":0,"rows":[]}', "total", "Field required"),
    "an unknown envelope field": ('{"cursor":null,"total":0,"remaining":0,"rows":[],"Rows":[]}', "Rows", ""),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_PAGES, ids=list(BAD_PAGES))
def test_a_malformed_page_is_one_error_naming_the_command(replay_session: Factory, case: str) -> None:
    text, where, reason = BAD_PAGES[case]
    session = replay_session([listing([text])])
    with pytest.raises(UnexpectedOutputError) as info:
        ex.list_mailboxes(session)
    error = info.value
    assert SCRIPT in str(error) and "Get-Mailbox" in str(error) and error.command == str(error.command)
    assert SCRIPT in (error.command or "") and error.location == where and error.model == "Mailbox"
    assert where in str(error) and reason in (error.reason or "")
    assert error.raw == text and len(session.transport.server.keys_seen) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "output",
    [[], [page([row("Adele")]), page([])], [{"properties": row("Adele")}]],
    ids=["nothing", "two pages", "rows as objects"],
)
def test_anything_but_one_page_is_one_error_naming_the_command(replay_session: Factory, output: list[Any]) -> None:
    with pytest.raises(UnexpectedOutputError, match=rf"{re.escape(SCRIPT)}.* sent {len(output)} objects where one "
                       "JSON page was expected"):  # fmt: skip
        ex.list_mailboxes(replay_session([listing(output)]))


# -- what the listing costs ------------------------------------------------------------------------------------


def test_a_listing_costs_one_plain_call_per_page(replay_session: Factory) -> None:
    """Three pages take three pipelines and exactly the WSMan requests of three plain calls: no call or
    request more (no release, no extra Receive), measured against a read by identity in the same session."""
    rows = [row(f"User{n}") for n in range(5)]
    adele = {
        "script": SCRIPT,
        "parameters": [
            {"name": "Command", "value": "Get-Mailbox"},
            {"name": "Arguments", "value": {"Identity": "adele@contoso.example"}},
        ],
        "output": [
            {
                "properties": {
                    **row("Adele"),
                    "WhenChanged": {"DT": "2026-11-20T09:14:02Z"},
                    "EmailAddresses": {"Object[]": ["SMTP:adele@contoso.example"]},
                }
            }
        ],
    }
    session = replay_session([
        adele,
        listing([page(rows[:2], "c1", 5, 3)], page_size=2),
        listing([page(rows[2:4], "c1", 5, 1)], page_size=2, cursor="c1"),
        listing([page(rows[4:], None, 5, 0)], page_size=2, cursor="c1"),
        adele,
    ])  # fmt: skip
    transport: ReplayTransport = session.transport  # type: ignore[assignment]
    ex.get_mailbox(session, identity="adele@contoso.example")
    opened = transport.requests
    listed = ex.iter_mailboxes(session, page_size=2)
    assert [m.identity for m in listed] == [f"User{n}" for n in range(5)] and (listed.pages, listed.total) == (3, 5)
    during = transport.requests - opened
    ex.get_mailbox(session, identity="adele@contoso.example")
    one_call = transport.requests - opened - during
    assert during == 3 * one_call
    assert len(session.transport.server.keys_seen) == 5  # type: ignore[attr-defined]


# -- the script sends what these tests read ----------------------------------------------------------------------


def test_the_script_sends_one_compressed_page_deep_enough_for_its_rows() -> None:
    """A page built through the pipeline would unroll a one-row page; the default -Depth (2) would write a
    row's arrays as text; 5.1 writes a DateTime as \\/Date(ms)\\/ unless it is text already."""
    text = (REPO / "psbridge" / "ps" / SCRIPT).read_text(encoding="utf-8")
    (convert,) = re.findall(r"^\s*ConvertTo-Json\b.*$", text, flags=re.MULTILINE)
    assert "-InputObject $page" in convert and "-Compress" in convert
    depth = re.search(r"-Depth (\d+)", convert)
    assert depth is not None and int(depth.group(1)) >= 4  # page, rows, row, EmailAddresses
    iso_text = text[text.index("function ConvertTo-IsoText") : text.index("function ConvertTo-PageRow")]
    assert ".ToUniversalTime()" in iso_text and ".ToString('o'" in iso_text
    page_row = text[text.index("function ConvertTo-PageRow") : text.index("function Send-Page")]
    assert "ConvertTo-IsoText $value" in page_row and "[object[]]$value" in page_row
