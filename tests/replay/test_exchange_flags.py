"""Flags, missing values and times as the Exchange scripts report them, read through the real client path.

No PowerShell runs here, so the scripts' own logic is checked for grammar only (tests/unit/test_ps_scripts.py);
these tests check the rest: what psbridge sends, and how it reads the outputs the scripts document.

- The batch script (`exchange/Set-CloudManagedBatch.ps1`), answered by the simulated Exchange Online tenant
  (`ExchangeOnlineTenant`, tests/simulated.py) through psrpcore and pypsrp: a mailbox that does not report
  IsExchangeCloudManaged fails and is not written, text "False" is False, a read that returns nothing fails
  (it is not answered with the previous mailbox), and the rollout records each of these.
- The runner script (`exchange/Invoke-ExchangeCommand.ps1`), by replayed episodes: WhenChanged as the script
  sends it (converted to UTC) and as a Local DateTime, the typed compare of `set_mailbox_attributes`, and
  `set_mailbox_cloud_managed` on a flag that crossed as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_powershell as tsp
from pytest_mock import MockerFixture
from simulated import ExchangeOnlineTenant, Mailbox
from tree_sitter import Language, Node, Parser

from psbridge import InputError, ObjectNotFoundError, Session, SyncedObjectError, UnexpectedOutputError, ps
from psbridge import exchange as ex
from psbridge.exchange.bulk import MailboxOutcome, set_cloud_managed_batch
from psbridge.exchange.rollout import rollout_cloud_managed
from psbridge.replay.transport import replay_options
from psbridge.result import InvocationResult
from psbridge.retry import NO_RETRY
from psbridge.transport.mock import MockTransport
from psbridge.transport.psrp import HandlerWire, PSRPTransport
from psbridge.types import parse_flag as flag

Factory = Callable[..., Session]
SCRIPT = "exchange/Invoke-ExchangeCommand.ps1"
PARSER = Parser(Language(tsp.language()))  # the PowerShell grammar tests/unit/test_ps_scripts.py uses


# -- the batch script, through the simulated tenant ------------------------------------------------------


@pytest.fixture
def tenant_session() -> Iterator[Callable[[list[Mailbox]], tuple[ExchangeOnlineTenant, Session]]]:
    """A Session whose pypsrp client talks to a simulated tenant of the given mailboxes (in process)."""
    sessions: list[Session] = []

    def make(boxes: list[Mailbox]) -> tuple[ExchangeOnlineTenant, Session]:
        tenant = ExchangeOnlineTenant(boxes)
        server = tenant.server()
        transport = PSRPTransport(replay_options(), wire=lambda _http: HandlerWire(server.handle))
        session = Session(transport=transport, retry=NO_RETRY)
        sessions.append(session)
        return tenant, session

    yield make
    for session in sessions:
        session.close()


def test_a_mailbox_that_does_not_report_the_flag_fails_and_is_not_switched_back(tenant_session: Any) -> None:
    """Switching back to False: a missing value used to read as False (AlreadySet, nothing written). Now it
    is a permanent failure of that mailbox only; the next mailbox is switched."""
    tenant, session = tenant_session([Mailbox("a@contoso.example", cloud_managed=None),
                                      Mailbox("b@contoso.example", cloud_managed=True)])  # fmt: skip
    result = set_cloud_managed_batch(session, ["a@contoso.example", "b@contoso.example"], enabled=False, pace_s=0)
    missing, switched = result.items
    assert missing.outcome is MailboxOutcome.FAILED and missing.before is None
    assert missing.error_class is UnexpectedOutputError and not missing.transient
    assert missing.error_id == "PsbridgeExchange.CloudManagedNotReported"
    assert "did not report IsExchangeCloudManaged" in (missing.error_message or "")
    assert (switched.outcome, switched.before) == (MailboxOutcome.CHANGED, True)
    assert tenant.writes == {"b@contoso.example": 1} and tenant.set_calls == 1
    assert tenant.mailboxes["a@contoso.example"].cloud_managed is None  # left alone


def test_a_missing_flag_is_a_failure_in_the_rollout_and_its_journal(tenant_session: Any, tmp_path: Path) -> None:
    tenant, session = tenant_session([Mailbox("a@contoso.example", cloud_managed=None)])
    report = rollout_cloud_managed(
        session, identities=["a@contoso.example"], enabled=False, journal=tmp_path / "j.jsonl", sleep=lambda _: None
    )
    assert (report.failed, report.already_set, report.changed) == (1, 0, 0) and not report.succeeded
    assert report.items[0].error_class == "UnexpectedOutputError" and report.items[0].attempts == 1
    assert tenant.batches == 1 and tenant.set_calls == 0


@pytest.mark.parametrize(("reported", "enabled", "outcome"), [
    ("False", False, MailboxOutcome.ALREADY_SET),  # [bool]'False' would be True: Changed, and a write
    ("False", True, MailboxOutcome.CHANGED),
    (" true ", True, MailboxOutcome.ALREADY_SET),
    ("TRUE", False, MailboxOutcome.CHANGED),
])  # fmt: skip
def test_a_flag_reported_as_text_is_parsed(tenant_session: Any, reported: str, enabled: bool, outcome: str) -> None:
    tenant, session = tenant_session([Mailbox("a@contoso.example", cloud_managed=reported)])
    (item,) = set_cloud_managed_batch(session, ["a@contoso.example"], enabled=enabled, pace_s=0).items
    assert item.outcome is outcome
    assert item.before is (reported.strip().lower() == "true")
    assert tenant.set_calls == (1 if outcome is MailboxOutcome.CHANGED else 0)


def test_text_that_is_no_flag_fails_the_mailbox(tenant_session: Any) -> None:
    tenant, session = tenant_session([Mailbox("a@contoso.example", cloud_managed="Yes")])
    (item,) = set_cloud_managed_batch(session, ["a@contoso.example"], enabled=True, pace_s=0).items
    assert item.outcome is MailboxOutcome.FAILED and item.before is None and not item.transient
    assert tenant.set_calls == 0


def test_a_read_that_returns_nothing_fails_instead_of_reusing_the_previous_mailbox(tenant_session: Any) -> None:
    """The previous mailbox was not cloud-managed and was switched; the next read returns nothing. Reusing the
    previous mailbox would report AlreadySet (its value after the switch); the script reports a failure."""
    tenant, session = tenant_session([Mailbox("a@contoso.example", cloud_managed=False),
                                      Mailbox("b@contoso.example", read_returns_nothing=True),
                                      Mailbox("c@contoso.example", cloud_managed=True)])  # fmt: skip
    ids = ["a@contoso.example", "b@contoso.example", "c@contoso.example"]
    a, b, c = set_cloud_managed_batch(session, ids, enabled=True, pace_s=0).items
    assert (a.outcome, a.before) == (MailboxOutcome.CHANGED, False)
    assert (b.outcome, b.before) == (MailboxOutcome.FAILED, None)
    assert b.error_class is ObjectNotFoundError and b.error_id == "PsbridgeExchange.MailboxNotRead"
    assert (c.outcome, c.before) == (MailboxOutcome.ALREADY_SET, True)
    assert tenant.writes == {"a@contoso.example": 1}


def test_the_simulated_tenant_reads_flags_with_the_scripts_rule() -> None:
    assert [flag(v) for v in (True, False, None, "", "  ", "False", "false", "True ")] == [
        True, False, None, None, None, False, False, True,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a Boolean"):
        flag("0")


def _function(script: str, name: str) -> str:
    """The text of a top-level function of a packaged script, found with the PowerShell grammar."""
    found: list[str] = []
    stack: list[Node] = [PARSER.parse(ps.load(script).encode("utf-8")).root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_statement":
            names = [c for c in node.children if c.type == "function_name"]
            if names and (names[0].text or b"").decode() == name:
                found.append((node.text or b"").decode())
        stack.extend(node.children)
    assert len(found) == 1, f"{script}: {len(found)} functions named {name}"
    return found[0]


def test_both_scripts_read_flags_with_one_rule() -> None:
    """The scripts are sent one by one and cannot share a function file: their Get-Flag must stay identical."""
    runner = _function("exchange/Invoke-ExchangeCommand.ps1", "Get-Flag")
    assert _function("exchange/Set-CloudManagedBatch.ps1", "Get-Flag") == runner
    assert "[System.Convert]::ToBoolean" in runner and "[bool]$" not in runner


# -- the runner script, by replayed episodes -------------------------------------------------------------


def _row(**properties: Any) -> dict[str, Any]:
    base = {
        "Identity": "Adele Vance", "DisplayName": "Adele Vance", "UserPrincipalName": "adele@contoso.example",
        "PrimarySmtpAddress": "adele@contoso.example", "EmailAddresses": ["SMTP:adele@contoso.example"],
        "ExchangeGuid": "5b0e7a1c-3f4d-4e2a-9c6b-8d1f2e3a4b5c", "RecipientTypeDetails": "UserMailbox",
        "WhenChanged": {"DT": "2026-11-20T09:14:02Z"}, "IsDirSynced": True, "IsExchangeCloudManaged": False,
    }  # fmt: skip
    return {"properties": {**base, **properties}}


def _read(row: dict[str, Any], *properties: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "Command", "value": "Get-Mailbox"},
        {"name": "Arguments", "value": {"Identity": "adele@contoso.example"}},
    ]
    if properties:
        parameters.append({"name": "Property", "value": list(properties)})
    return {"script": SCRIPT, "parameters": parameters, "output": [row]}


def _set(arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "script": SCRIPT,
        "parameters": [{"name": "Command", "value": "Set-Mailbox"}, {"name": "Arguments", "value": arguments}],
    }


@pytest.mark.parametrize("when", ["2026-11-20T09:14:02Z", "2026-11-20T10:14:02+01:00", "2026-11-20T01:14:02-08:00"])
def test_when_changed_is_read_as_the_same_instant_with_its_offset(replay_session: Factory, when: str) -> None:
    """The script converts WhenChangedUTC to UTC and sends a UTC DateTime (`...Z`); a Local DateTime
    (with its offset) is the same instant, and keeps the offset it was sent with. Relabelling, as
    SpecifyKind did, would have moved it."""
    mailbox = ex.get_mailbox(replay_session([_read(_row(WhenChanged={"DT": when}))]), identity="adele@contoso.example")
    assert mailbox.when_changed == dt.datetime(2026, 11, 20, 9, 14, 2, tzinfo=dt.UTC)
    sent = dt.datetime.fromisoformat(when)
    assert mailbox.when_changed is not None and mailbox.when_changed.utcoffset() == sent.utcoffset()


def test_a_cloud_managed_flag_that_crossed_as_text_false_needs_no_switch_back(replay_session: Factory) -> None:
    session = replay_session([_read(_row(IsExchangeCloudManaged="False"))])
    change = ex.set_mailbox_cloud_managed(session, identity="adele@contoso.example", enabled=False)
    assert not change.changed and change.before.is_exchange_cloud_managed is False
    assert len(session.transport.server.keys_seen) == 1  # type: ignore[attr-defined]


def _commands(spy: Any) -> list[str]:
    """The runner script's -Command of every Session.invoke call the spy saw."""
    out = []
    for call in spy.call_args_list:
        command = call.args[1]
        out.append(next(str(p.value) for p in command.parameters if p.name == "Command"))
    return out


@pytest.mark.parametrize("reported", [False, "False"])
def test_an_attribute_already_false_is_no_change_and_sends_nothing(
    replay_session: Factory, mocker: MockerFixture, reported: bool | str
) -> None:
    """The mailbox is dir-synced and not cloud-managed, so any write would be refused (SyncedObjectError):
    the old untyped compare counted False as a change ("" != False) and raised for nothing."""
    row = _row(HiddenFromAddressListsEnabled=reported, CustomAttribute1=None)
    session = replay_session([_read(row, "CustomAttribute1", "HiddenFromAddressListsEnabled")])
    spy = mocker.spy(Session, "invoke")
    change = ex.set_mailbox_attributes(
        session, identity="adele@contoso.example",
        attributes={"HiddenFromAddressListsEnabled": False, "CustomAttribute1": None},
    )  # fmt: skip
    assert not change.changed
    assert change.before.values == {"HiddenFromAddressListsEnabled": False, "CustomAttribute1": None}
    assert change.after == change.before
    assert _commands(spy) == ["Get-Mailbox"]  # no Set-Mailbox left the client
    assert len(session.transport.server.keys_seen) == 1  # type: ignore[attr-defined]


def test_a_typed_change_sends_only_what_differs(replay_session: Factory, mocker: MockerFixture) -> None:
    row = _row(IsExchangeCloudManaged=True, HiddenFromAddressListsEnabled="False", CustomAttribute1="", Alias="adele")
    session = replay_session([
        _read(row, "Alias", "CustomAttribute1", "HiddenFromAddressListsEnabled"),
        _set({"Identity": "adele@contoso.example", "HiddenFromAddressListsEnabled": True}),
    ])  # fmt: skip
    spy = mocker.spy(Session, "invoke")
    change = ex.set_mailbox_attributes(
        session, identity="adele@contoso.example",
        attributes={"HiddenFromAddressListsEnabled": True, "CustomAttribute1": "", "Alias": "adele"},
    )  # fmt: skip
    assert change.changed and change.after.values["HiddenFromAddressListsEnabled"] is True
    assert change.before.values == {"Alias": "adele", "CustomAttribute1": None, "HiddenFromAddressListsEnabled": False}
    assert _commands(spy) == ["Get-Mailbox", "Set-Mailbox"]
    assert spy.call_args_list[1].args[1].parameters[1].value == {
        "Identity": "adele@contoso.example", "HiddenFromAddressListsEnabled": True,
    }  # fmt: skip


def test_a_real_change_on_a_mailbox_mastered_on_premises_is_still_refused(replay_session: Factory) -> None:
    session = replay_session([_read(_row(HiddenFromAddressListsEnabled=False), "HiddenFromAddressListsEnabled")])
    with pytest.raises(SyncedObjectError, match="not cloud-managed"):
        ex.set_mailbox_attributes(
            session, identity="adele@contoso.example", attributes={"HiddenFromAddressListsEnabled": True}
        )


@pytest.mark.parametrize(("attributes", "message"), [
    ({"HiddenFromAddressListsEnabled": None}, "cannot be cleared"),
    ({"HiddenFromAddressListsEnabled": "yes"}, "True or False"),
    ({"CustomAttribute1": True}, "is text"),
])  # fmt: skip
def test_a_value_of_the_wrong_type_is_refused_before_sending(
    mocker: MockerFixture, attributes: dict[str, Any], message: str
) -> None:
    spy = mocker.spy(Session, "invoke")
    with pytest.raises(InputError, match=message):
        ex.set_mailbox_attributes(Session(transport=MockTransport(_unsent)), identity="a@contoso.example",
                                  attributes=attributes)  # fmt: skip
    assert spy.call_count == 0


def _unsent(command: Any) -> InvocationResult:
    raise AssertionError(f"nothing should have been sent: {command.display()}")


def test_a_reported_value_of_the_wrong_type_is_unexpected_output(replay_session: Factory) -> None:
    session = replay_session([_read(_row(HiddenFromAddressListsEnabled="Maybe"), "HiddenFromAddressListsEnabled")])
    with pytest.raises(UnexpectedOutputError, match="HiddenFromAddressListsEnabled"):
        ex.set_mailbox_attributes(
            session, identity="adele@contoso.example", attributes={"HiddenFromAddressListsEnabled": True}
        )
