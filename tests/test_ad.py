"""psbridge.ad: the ActiveDirectory module's cmdlets on the dc target, replayed from the demo's domain controller
(recorded_sessions/demo/ad.yaml) and from recordings built here from the same shapes.

Reads validate into models whatever the case of the property names; a user is found by UPN through an escaped
LDAP filter; membership changes read first, send nothing when there is nothing to change, and run with
-Confirm:$false; an OU that is not there is None.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, FAST_RETRY, REPO, cassette

from psbridge import (
    AuthenticationError,
    CommandNotFoundError,
    InputError,
    ObjectNotFoundError,
    ReplayMissError,
    Session,
)
from psbridge.ad import (
    add_group_member,
    get_ad_group,
    get_ad_user,
    get_group_members,
    get_organizational_unit,
    is_group_member,
    remove_group_member,
)
from psbridge.ad.functions import MODULE_NOTE
from psbridge.replay.transport import recorded_session
from psbridge.result import InvocationResult, Streams
from psbridge.transport.mock import MockTransport

SOURCE = yaml.safe_load((REPO / "recorded_sessions/sources/demo/ad.yaml").read_text(encoding="utf-8"))
EPISODES = SOURCE["episodes"]
DANA, GROUP = "dana@contoso.example", "Licensing-M365-E3"


def episode(command: str, **params: Any) -> dict[str, Any]:
    """A copy of the demo's episode of `command` (with these parameter values, when given)."""
    for item in EPISODES:
        values = {p["name"]: p["value"] for p in item.get("parameters", [])}
        if item["command"] == command and all(values.get(k) == v for k, v in params.items()):
            return copy.deepcopy(item)
    raise LookupError(command)


def properties(command: str, **params: Any) -> dict[str, Any]:
    return dict(episode(command, **params)["output"][0]["properties"])


@pytest.fixture
def demo() -> Iterator[Session]:
    with recorded_session(DEMO / "ad.yaml", retry=FAST_RETRY) as session:
        yield session


def sent(session: Session) -> list[str]:
    return [key.display() for key in session.transport.server.keys_seen]  # type: ignore[attr-defined]


# -- users and groups ------------------------------------------------------------------------------------------


def test_a_user_by_upn_is_read_with_an_ldap_filter_and_its_groups(demo: Session) -> None:
    user = get_ad_user(demo, identity=DANA)
    row = properties("Get-ADUser")
    assert user.distinguished_name == row["DistinguishedName"]
    assert (user.sam_account_name, user.user_principal_name, user.enabled) == (row["SamAccountName"], DANA, True)
    assert str(user.object_guid) == row["ObjectGUID"]["G"]
    assert user.member_of == tuple(row["MemberOf"]["ADPropertyValueCollection"])
    assert sent(demo) == ['Get-ADUser -LDAPFilter "(userPrincipalName=dana@contoso.example)" -Properties ["MemberOf"]']


@pytest.mark.parametrize(
    ("identity", "parameter"),
    [
        ("CN=Dana Smith,CN=Users,DC=contoso,DC=example", "Identity"),  # a DN: '=' even with an '@' elsewhere
        ("dana", "Identity"),  # sAMAccountName
        ("2b6f0d3e-8c1a-4e57-9f2d-6a0c4b8e1d73", "Identity"),
        ("  dana@contoso.example ", "LDAPFilter"),
    ],
)
def test_only_a_upn_is_looked_up_by_filter(identity: str, parameter: str) -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    with pytest.raises(ObjectNotFoundError, match="found no object"):
        get_ad_user(Session(transport=transport), identity=identity)
    assert [p.name for p in transport.calls[0].parameters] == [parameter, "Properties"]


def test_the_upn_is_escaped_in_the_ldap_filter_never_pasted_raw() -> None:
    transport = MockTransport(lambda c: InvocationResult(command=c.display(), output=(), streams=Streams()))
    with pytest.raises(ObjectNotFoundError):
        get_ad_user(Session(transport=transport), identity="a*)(objectClass=*\\@x")
    assert transport.calls[0].parameters[0].value == r"(userPrincipalName=a\2a\29\28objectClass=\2a\5c@x)"


def test_a_user_not_found_by_identity_is_object_not_found(replay_session: Callable[..., Session]) -> None:
    missing = episode("Get-ADOrganizationalUnit", Identity="OU=Slaes,DC=contoso,DC=example")["terminating_error"]
    error_id = missing["fully_qualified_error_id"].replace("GetADOrganizationalUnit", "GetADUser")
    message = "Cannot find an object with identity: 'nobody' under: 'DC=contoso,DC=example'."
    error = {**missing, "message": message, "target_name": "nobody", "target_type": "ADUser", "activity": "Get-ADUser",
             "fully_qualified_error_id": error_id}  # fmt: skip
    spec = {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "nobody"},
            {"name": "Properties", "value": ["MemberOf"]}], "terminating_error": error}  # fmt: skip
    with pytest.raises(ObjectNotFoundError) as raised:
        get_ad_user(replay_session([spec]), identity="nobody")
    assert raised.value.exception_type == "Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException"
    assert "Cannot find an object with identity: 'nobody'" in str(raised.value)


def test_a_group_and_its_members_whatever_the_case_of_their_property_names(demo: Session) -> None:
    group = get_ad_group(demo, identity=GROUP)
    assert group.distinguished_name == properties("Get-ADGroup")["DistinguishedName"]
    members = get_group_members(demo, group=GROUP)
    rows = [item["properties"] for item in episode("Get-ADGroupMember")["output"]]
    assert len(rows) > 1  # written distinguishedName, objectGUID, ... as the cmdlet does
    assert all("distinguishedName" in row and "DistinguishedName" not in row for row in rows)
    assert [(m.distinguished_name, m.sam_account_name, str(m.object_guid), m.object_class) for m in members] == [
        (row["distinguishedName"], row["SamAccountName"], row["objectGUID"]["G"], row["objectClass"]) for row in rows
    ]


def test_a_missing_module_is_a_command_not_found_saying_what_to_install(replay_session: Callable[..., Session]) -> None:
    spec = {"command": "Get-ADGroup", "parameters": [{"name": "Identity", "value": GROUP}], "terminating_error": {
        "message": "The term 'Get-ADGroup' is not recognized as the name of a cmdlet, function, script file, or "
                   "operable program.", "fully_qualified_error_id": "CommandNotFoundException",
        "category": "ObjectNotFound", "exception_type": "System.Management.Automation.CommandNotFoundException",
        "target_name": "Get-ADGroup"}}  # fmt: skip
    with pytest.raises(CommandNotFoundError, match="RSAT-AD-PowerShell") as raised:
        get_ad_group(replay_session([spec]), identity=GROUP)
    assert MODULE_NOTE in str(raised.value)


@pytest.mark.parametrize("call", [get_ad_user, get_ad_group, get_organizational_unit])
def test_an_identity_is_required(call: Callable[..., Any]) -> None:
    with pytest.raises(InputError, match="identity is required"):
        call(Session(transport=MockTransport(lambda c: InvocationResult(command="", output=()))), identity="  ")


# -- membership ----------------------------------------------------------------------------------------------------


def member_of(*groups: str) -> dict[str, Any]:
    """The demo's Get-ADUser episode of Dana, a member of `groups`."""
    item = episode("Get-ADUser")
    item["output"][0]["properties"]["MemberOf"] = {"ADPropertyValueCollection": list(groups)}
    return item


GROUP_DN = properties("Get-ADGroup")["DistinguishedName"]
DANA_DN = properties("Get-ADUser")["DistinguishedName"]


def test_membership_is_read_from_the_users_groups_not_by_listing_the_group(demo: Session) -> None:
    assert is_group_member(demo, group=GROUP, member=DANA) is False
    assert [k.split(" ")[0] for k in sent(demo)] == ["Get-ADUser", "Get-ADGroup"]


def test_membership_compares_distinguished_names_without_case(replay_session: Callable[..., Session]) -> None:
    session = replay_session([member_of("CN=All Staff,CN=Users,DC=contoso,DC=example", GROUP_DN.upper()),
                              episode("Get-ADGroup")])  # fmt: skip
    assert is_group_member(session, group=GROUP, member=DANA) is True


def test_adding_a_member_sends_add_with_both_dns_and_no_prompt(demo: Session) -> None:
    change = add_group_member(demo, group=GROUP, member=DANA)
    assert (change.changed, change.before.is_member, change.after.is_member) == (True, False, True)
    assert GROUP_DN in change.after.member.member_of and GROUP_DN not in change.before.member.member_of
    assert sent(demo)[-1] == f'Add-ADGroupMember -Identity "{GROUP_DN}" -Members "{DANA_DN}" -Confirm false'


def test_a_dry_run_reads_and_sends_nothing_else(demo: Session) -> None:
    change = add_group_member(demo, group=GROUP, member=DANA, dry_run=True)
    assert (change.changed, change.would_change, change.dry_run, change.after.is_member) == (False, True, True, True)
    assert not any("Add-ADGroupMember" in k for k in sent(demo))


def test_removing_a_member_sends_remove_and_nothing_when_already_out(replay_session: Callable[..., Session]) -> None:
    remove = episode("Add-ADGroupMember")
    remove["command"] = "Remove-ADGroupMember"
    session = replay_session([member_of(GROUP_DN), episode("Get-ADGroup"), remove])
    change = remove_group_member(session, group=GROUP, member=DANA)
    assert (change.changed, change.before.is_member, change.after.is_member) == (True, True, False)
    assert change.after.member.member_of == ()
    assert sent(session)[-1].startswith(f'Remove-ADGroupMember -Identity "{GROUP_DN}" -Members "{DANA_DN}" -Confirm')
    again = replay_session([member_of(), episode("Get-ADGroup")])
    assert remove_group_member(again, group=GROUP, member=DANA).changed is False
    assert [k.split(" ")[0] for k in sent(again)] == ["Get-ADUser", "Get-ADGroup"]


def test_adding_a_member_already_in_sends_nothing(replay_session: Callable[..., Session]) -> None:
    session = replay_session([member_of(GROUP_DN), episode("Get-ADGroup")])
    change = add_group_member(session, group=GROUP, member=DANA)
    assert (change.changed, change.after.is_member) == (False, True)
    assert not any("Add-ADGroupMember" in k for k in sent(session))


# -- organizational units --------------------------------------------------------------------------------------------


def test_an_existing_ou_is_read_and_a_mistyped_one_is_none(demo: Session) -> None:
    sales = get_organizational_unit(demo, identity="OU=Sales,DC=contoso,DC=example")
    assert sales is not None
    row = properties("Get-ADOrganizationalUnit", Identity="OU=Sales,DC=contoso,DC=example")
    assert (sales.distinguished_name, sales.name, str(sales.object_guid)) == (
        row["DistinguishedName"], row["Name"], row["ObjectGUID"]["G"],
    )  # fmt: skip
    assert get_organizational_unit(demo, identity="OU=Slaes,DC=contoso,DC=example") is None
    assert sent(demo)[-1] == 'Get-ADOrganizationalUnit -Identity "OU=Slaes,DC=contoso,DC=example"'


def test_an_ou_read_that_fails_otherwise_raises_rather_than_saying_none(demo: Session, tmp_path: Path) -> None:
    with pytest.raises(ReplayMissError):  # a command the recording lacks: never taken for "not there"
        get_organizational_unit(demo, identity="OU=Marketing,DC=contoso,DC=example")
    refusing = cassette([episode("Get-ADOrganizationalUnit", Identity="OU=Sales,DC=contoso,DC=example")])
    refusing.faults = {"faults": [{"fault": "http-401"}]}
    refusing.save(tmp_path / "dc.yaml")
    with recorded_session(tmp_path / "dc.yaml", retry=FAST_RETRY) as session, pytest.raises(AuthenticationError):
        get_organizational_unit(session, identity="OU=Sales,DC=contoso,DC=example")
