"""Every recording gives each known property a shape real Windows hosts send (psbridge.replay.shapes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from psbridge.replay import shapes, synthetic

ROOT = Path(__file__).resolve().parent.parent / "recorded_sessions"

MAILBOX = shapes.recipient("Mailbox")
GROUP = [
    "Microsoft.ActiveDirectory.Management.ADGroup",
    "Microsoft.ActiveDirectory.Management.ADPrincipal",
    "Microsoft.ActiveDirectory.Management.ADObject",
    "Microsoft.ActiveDirectory.Management.ADEntity",
    "Microsoft.ActiveDirectory.Management.ADPropertyCollection",
    "System.Object",
]
ADDRESSES = ["SMTP:dana@contoso.example", "smtp:dana@contoso.mail.onmicrosoft.com"]
GOOD_MAILBOX: dict[str, Any] = {
    "EmailAddresses": {"ProxyAddressCollection": ADDRESSES},
    "ExchangeGuid": {"G": "7f3e2d1c-0b9a-4876-a5f4-e3d2c1b0a987"},
    "RecipientTypeDetails": "UserMailbox",
    "ProhibitSendQuota": {"ByteQuantifiedSize": 53150121984},
    "WhenChanged": {"DT": "2026-11-17T06:03:55-08:00"},
    "WhenChangedUTC": {"DT": "2026-11-17T14:03:55Z"},
}


def violations(item: dict[str, Any]) -> list[shapes.Violation]:
    """The check's verdict on one authored output object."""
    return shapes.check_clixml(synthetic._clixml(synthetic._output(item)), file="sample.yaml", command="Get-Thing")


def mailbox(**changes: Any) -> dict[str, Any]:
    return {
        "type_names": MAILBOX,
        "to_string": "Dana Smith",
        "adapted": True,
        "properties": {**GOOD_MAILBOX, **changes},
    }


def group(**changes: Any) -> dict[str, Any]:
    properties = {
        "DistinguishedName": "CN=Licensing-M365-E3,CN=Users,DC=contoso,DC=example",
        "GroupCategory": {
            "Enum": "Microsoft.ActiveDirectory.Management.ADGroupCategory",
            "ToString": "Security",
            "I32": 1,
        },
        "GroupScope": {"Enum": "Microsoft.ActiveDirectory.Management.ADGroupScope", "ToString": "Global", "I32": 1},
        "MemberOf": {"ADPropertyValueCollection": []},
    }
    return {"type_names": GROUP, "adapted": True, "properties": {**properties, **changes}}


def row(**properties: Any) -> dict[str, Any]:
    return {"properties": properties}


# -- every recording --------------------------------------------------------------------------------------


def test_every_recording_sends_what_real_hosts_send() -> None:
    found = shapes.check_tree(ROOT)
    assert not found, "shapes no real host sends:\n" + "\n".join(map(str, found))


def test_the_check_reads_the_recordings_that_carry_raw_objects() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in shapes.recordings(ROOT)}
    assert {"demo/exchange.yaml", "demo/ad.yaml", "demo/exo.yaml", "rollout/cloud-managed.yaml"} <= files
    assert not any(f.startswith("sources/") for f in files)


@pytest.mark.parametrize(
    ("recording", "command", "prop", "first_type"),
    [
        ("demo/exchange.yaml", "Get-Mailbox", "EmailAddresses", "Microsoft.Exchange.Data.ProxyAddressCollection"),
        ("demo/ad.yaml", "Get-ADUser", "MemberOf", "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection"),
        ("demo/ad.yaml", "Get-ADGroup", "GroupScope", "Microsoft.ActiveDirectory.Management.ADGroupScope"),
        ("demo/exo.yaml", "exchange/Invoke-ExchangeCommand.ps1", "EmailAddresses", "System.Object[]"),
    ],
)
def test_the_recordings_carry_the_typed_values(recording: str, command: str, prop: str, first_type: str) -> None:
    """The check is not vacuous: the properties it rules on are in the recordings, typed."""
    from psbridge.replay.cassette import Cassette

    cassette = Cassette.load(ROOT / recording)
    clixml = next(
        m.clixml
        for e in cassette.episodes
        if e.key.statements[0].command == command
        for m in e.messages
        if m.type == "PipelineOutput" and f'N="{prop}"' in m.clixml
    )
    assert f'N="{prop}"' in clixml and f"<T>{first_type}</T>" in clixml
    assert "System.Collections.ArrayList" not in clixml


# -- the check fails on shapes no real host sends ---------------------------------------------------------


def test_a_real_mailbox_passes() -> None:
    assert violations(mailbox()) == []


def test_a_mailbox_that_crossed_a_jump_host_passes() -> None:
    assert violations({**mailbox(), "deserialized": 1}) == []


def test_emailaddresses_as_an_arraylist_fails() -> None:
    (found,) = violations(mailbox(EmailAddresses=ADDRESSES))
    assert (found.file, found.command, found.property) == ("sample.yaml", "Get-Thing", "EmailAddresses")
    assert "System.Collections.ArrayList" in found.found and "ProxyAddressCollection" in found.expected
    assert "EmailAddresses" in str(found) and "real hosts send" in str(found)


def test_emailaddresses_as_a_string_array_on_a_raw_mailbox_fails() -> None:
    (found,) = violations(mailbox(EmailAddresses={"String[]": ADDRESSES}))
    assert "System.String[]" in found.found


def test_a_scripts_emailaddresses_as_an_arraylist_fails() -> None:
    (found,) = violations(row(EmailAddresses=ADDRESSES))
    assert found.property == "EmailAddresses" and "System.Object[]" in found.expected


def test_a_scripts_emailaddresses_as_its_array_passes() -> None:
    assert violations(row(EmailAddresses={"Object[]": ADDRESSES})) == []
    assert violations(row(EmailAddresses={"String[]": ADDRESSES})) == []


def test_an_enum_as_a_bare_number_fails() -> None:
    (found,) = violations(group(GroupScope={"I32": 1}))
    assert found.property == "GroupScope" and found.found == "<I32>1</I32>" and "ADGroupScope" in found.expected


def test_an_enum_of_the_wrong_type_fails() -> None:
    scope = {"Enum": "Microsoft.ActiveDirectory.Management.ADGroupCategory", "ToString": "Security", "I32": 1}
    (found,) = violations(group(GroupScope=scope))
    assert found.property == "GroupScope"


def test_recipienttypedetails_as_a_bare_number_fails_and_as_an_enum_object_passes() -> None:
    (found,) = violations(mailbox(RecipientTypeDetails={"I64": 1}))
    assert found.property == "RecipientTypeDetails"
    enum = {"Enum": "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails", "ToString": "UserMailbox"}
    assert violations(mailbox(RecipientTypeDetails={**enum, "I64": 1})) == []


def test_memberof_as_an_arraylist_fails() -> None:
    (found,) = violations(group(MemberOf=["CN=All Staff,CN=Users,DC=contoso,DC=example"]))
    assert found.property == "MemberOf" and "ADPropertyValueCollection" in found.expected


def test_a_quota_that_is_not_bytequantifiedsize_text_fails() -> None:
    (found,) = violations(mailbox(ProhibitSendQuota="50GB"))
    assert found.property == "ProhibitSendQuota" and found.found == "<S>50GB</S>"


def test_a_local_time_without_its_offset_fails() -> None:
    (found,) = violations(mailbox(WhenChanged={"DT": "2026-11-17T06:03:55"}))
    assert found.property == "WhenChanged"


def test_a_raw_object_with_note_properties_fails() -> None:
    found = violations({**mailbox(), "adapted": False})
    assert [v.property for v in found] == ["(the object)"] and "<Props>" in found[0].expected


def test_mixed_deserialized_prefixes_fail() -> None:
    item = mailbox(EmailAddresses={"LST": ADDRESSES, "type_names": ["Deserialized.X", "System.Object"]})
    assert any("Deserialized." in v.expected for v in violations(item))


def test_check_recording_names_the_file_and_the_command(tmp_path: Path) -> None:
    source = {
        "episodes": [{"command": "Get-Mailbox", "parameters": [{"name": "Identity", "value": "dana"}],
                      "output": [mailbox(EmailAddresses=ADDRESSES)]}],
    }  # fmt: skip
    path = tmp_path / "bad.yaml"
    synthetic.author(source).save(path)
    (found,) = shapes.check_recording(path)
    assert (found.file, found.command, found.property) == (str(path), "Get-Mailbox", "EmailAddresses")
    assert shapes.check_tree(tmp_path) == [found]


# -- the authoring forms ----------------------------------------------------------------------------------


def test_bytequantifiedsize_text_is_exchanges_format() -> None:
    assert shapes.byte_quantified_size(53150121984) == "49.5 GB (53,150,121,984 bytes)"
    assert shapes.byte_quantified_size(32212254720) == "30 GB (32,212,254,720 bytes)"
    assert shapes.byte_quantified_size(262144) == "256 KB (262,144 bytes)"
    assert shapes.byte_quantified_size(1431655765) == "1.333 GB (1,431,655,765 bytes)"
    assert shapes.byte_quantified_size(0) == "0 B (0 bytes)"
    assert shapes.byte_quantified_size("Unlimited") == "Unlimited"
    with pytest.raises(ValueError, match="byte count"):
        shapes.byte_quantified_size("50GB")


def test_an_enum_is_written_as_powershell_writes_one() -> None:
    text = synthetic._clixml(synthetic._output(group(GroupScope={
        "Enum": "Microsoft.ActiveDirectory.Management.ADGroupScope", "ToString": "Universal", "I32": 2})))  # fmt: skip
    start = text.index('N="GroupScope"')
    scope = text[start : text.index("</Obj>", start)]
    assert scope.index("<TN") < scope.index("<ToString>Universal</ToString>") < scope.index("<I32>2</I32>")
    assert "<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T>" in scope


def test_deserialized_prefixes_every_type_name_once_per_hop() -> None:
    text = synthetic._clixml(synthetic._output({**mailbox(), "deserialized": 1}))
    names = [part.split("</T>")[0] for part in text.split("<T>")[1:]]
    assert names and all(
        n.startswith("Deserialized.") and not n.startswith("Deserialized.Deserialized.") for n in names
    )
    assert "<T>Deserialized.Microsoft.Exchange.Data.ProxyAddressCollection</T>" in text


def test_a_collection_needs_a_known_name_or_its_type_names() -> None:
    with pytest.raises(ValueError, match="unknown collection"):
        synthetic._output(row(X={"LST": [], "collection": "Bag"}))
    with pytest.raises(ValueError, match="write the type names out"):
        synthetic._output(row(X={"LST": [], "collection": "MultiValuedProperty<Some.Type>"}))
    with pytest.raises(ValueError, match="one of"):
        synthetic._output(row(X={"Enum": "X.Y", "ToString": "A"}))
