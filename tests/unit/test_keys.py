from typing import Any

import pytest

from psbridge.ps import script_digest
from psbridge.replay.episodes import Episode, EpisodePlayer, Miss
from psbridge.replay.keys import Key, Param, Statement, canonical


def key(command: str, **params: object) -> Key:
    return Key((Statement(command, None, tuple(Param(k, canonical(v)) for k, v in params.items())),))


def test_canonical_values_are_plain_data() -> None:
    import uuid

    guid = uuid.UUID("b891884f-051e-4a83-95af-2544101c9083")
    assert canonical({"b": [1, True, None], "a": guid}) == {"a": str(guid), "b": [1, True, None]}
    assert canonical((1.5, "x")) == [1.5, "x"]


def test_script_digest_ignores_line_endings_and_trailing_blanks() -> None:
    assert script_digest("a\r\nb  \n\n") == script_digest("a\nb")
    assert script_digest("a\nb") != script_digest("a\nc")


def test_matching_is_by_name_order_and_value_cmdlet_case_insensitive() -> None:
    assert key("Get-Mailbox", Identity="a").matches(key("get-mailbox", Identity="a"))
    assert not key("Get-Mailbox", Identity="a").matches(key("Get-Mailbox", Identity="b"))
    assert not key("Get-Mailbox", Identity="a").matches(key("Get-Mailbox", Id="a"))


def test_secret_is_a_wildcard() -> None:
    recorded = key("Connect-Thing", Password="x").redacted(lambda p: p.name == "Password")
    assert recorded.statements[0].params[0].secret
    assert recorded.matches(key("Connect-Thing", Password="anything"))
    assert "<secret>" in recorded.display() and "x" not in recorded.display().replace("Connect-Thing", "")


def test_roundtrip_through_data() -> None:
    k = Key((Statement("adsync/x.ps1", "ab" * 32, (Param("A", [1, "b"]), Param(None, "pos"))),))
    assert Key.from_data(k.to_data()) == k


def test_player_serves_fifo_once_and_reports_exhaustion_and_nearest() -> None:
    a1 = Episode(key("Get-A"), [], "t")
    a2 = Episode(key("Get-A"), [], "t")
    b = Episode(key("Get-B", Identity="x"), [], "t")
    player = EpisodePlayer([a1, b, a2], "test.yaml")
    assert player.take(key("Get-A")) is a1
    assert player.take(key("Get-A")) is a2
    exhausted = player.take(key("Get-A"))
    assert isinstance(exhausted, Miss) and exhausted.exhausted
    assert "already played" in exhausted.message()
    miss = player.take(key("Get-B", Identity="y"))
    assert isinstance(miss, Miss) and not miss.exhausted
    assert miss.nearest[0] == b.key
    assert 'Get-B -Identity "x"' in miss.message()
    assert player.unplayed == [b]


def _key(command: str, digest: str | None = None, **params: Any) -> Key:
    return Key((Statement(command, digest, tuple(Param(n, canonical(v)) for n, v in params.items())),))


def test_a_miss_says_where_the_nearest_recording_differs_even_past_the_shown_items() -> None:
    names = [f"user{i:03}@contoso.example" for i in range(100)]
    asked = _key("Set-CloudManagedBatch.ps1", "a" * 64, Identity=[*names[:97], "typo@contoso.example", *names[98:]])
    recorded = _key("Set-CloudManagedBatch.ps1", "a" * 64, Identity=names)
    assert asked.display() == recorded.display()  # the lists are cut to their first items: they look the same
    assert asked.difference(recorded) == (
        '-Identity: item 98 differs: "user097@contoso.example" recorded, "typo@contoso.example" asked'
    )


@pytest.mark.parametrize(
    ("asked", "recorded", "said"),
    [
        (_key("Get-Thing", Count=7), _key("Get-Thing", Count=10), "-Count: 10 recorded, 7 asked"),
        (_key("Get-Thing", Count=7), _key("Get-Thing"), "-Count asked, not recorded"),
        (_key("Get-Thing"), _key("Get-Thing", Count=7), "-Count recorded, not asked"),
        (_key("Get-Thing"), _key("Get-Other"), "`Get-Other` recorded, `Get-Thing` asked"),
        (_key("x.ps1", "a" * 64), _key("x.ps1", "b" * 64), "script x.ps1 changed since it was recorded"),
    ],
)
def test_a_miss_names_the_first_difference(asked: Key, recorded: Key, said: str) -> None:
    assert asked.difference(recorded).startswith(said)
