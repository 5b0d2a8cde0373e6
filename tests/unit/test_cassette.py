import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import DEMO, cassette
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from psbridge import RecordingFormatError, RecordingSecretError
from psbridge.replay.cassette import Cassette, ScrubMap, load_all, redact_secure_strings
from psbridge.replay.episodes import EpisodePlayer, RecordedMessage
from psbridge.replay.keys import Key, Param

SPEC = {"command": "Get-Thing", "output": [{"properties": {"Name": "line1_x000A_line2", "N": {"I32": 3}}}]}
DATE_SPEC = {"command": "Get-Date", "output": [{"properties": {"N": 1}}]}


def test_roundtrip_keeps_clixml_bytes_exact(tmp_path: Path) -> None:
    original = cassette([SPEC])
    # One body with a real line break is kept verbatim instead of being split for diffing.
    original.episodes[0].messages.insert(0, RecordedMessage("WarningRecord", '<Obj RefId="0"><S>a\nb</S></Obj>'))
    path = tmp_path / "c.yaml"
    original.save(path)
    loaded = Cassette.load(path)
    assert [m.clixml for m in loaded.episodes[0].messages] == [m.clixml for m in original.episodes[0].messages]
    assert [m.clixml for m in loaded.pool] == [m.clixml for m in original.pool]
    text = path.read_text()
    assert "clixml: |-\n" in text  # block text, one element per line
    assert "clixml_raw:" in text


def test_demo_loads_and_is_marked_synthetic() -> None:
    demos = load_all(DEMO)  # one recording per demo host: Windows PowerShell, or an Exchange server's endpoint
    assert {Path(str(d.path)).name for d in demos} >= {"adsync.yaml", "cloudsync.yaml", "exchange.yaml"}
    for demo in demos:
        assert demo.origin == "synthetic"
        assert demo.target.configuration_name in {"Microsoft.PowerShell", "Microsoft.Exchange"}
        assert demo.target.ps_version.startswith("5.1")


def _mutate(data: dict, how: str) -> object:
    if how == "list":
        return [data]
    if how == "version":
        return {**data, "format_version": 2}
    if how == "origin":
        return {**data, "origin": "made-up"}
    if how == "no-origin":
        return {k: v for k, v in data.items() if k != "origin"}
    if how == "no-target":
        return {**data, "target": {}}
    if how == "bad-type":
        data["episodes"][0]["messages"][0]["type"] = "Bogus"
    elif how == "bad-xml":
        data["episodes"][0]["messages"][0]["clixml"] = "<Obj><S>unclosed</Obj>"
    elif how == "no-state":
        data["episodes"][0]["messages"] = data["episodes"][0]["messages"][:-1]
    elif how == "no-key":
        data["episodes"][0]["key"] = []
    elif how == "bad-key":
        data["episodes"][0]["key"] = [{"parameters": []}]
    elif how == "no-clixml":
        del data["episodes"][0]["messages"][0]["clixml"]
    elif how == "empty-pool":
        data["pool"] = []
    return data


@pytest.mark.parametrize(
    "how",
    ["list", "version", "origin", "no-origin", "no-target", "bad-type", "bad-xml", "no-state", "no-key", "bad-key",
     "no-clixml", "empty-pool"],
)  # fmt: skip
def test_malformed_recordings_are_clear_errors(tmp_path: Path, how: str) -> None:
    path = tmp_path / "bad.yaml"
    data = yaml.safe_load(cassette([SPEC]).dumps())
    path.write_text(yaml.safe_dump(_mutate(data, how)))
    with pytest.raises(RecordingFormatError) as info:
        Cassette.load(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_not_yaml_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format_version: [1\n  - : :")
    with pytest.raises(RecordingFormatError, match="not valid YAML"):
        Cassette.load(bad)
    with pytest.raises(RecordingFormatError, match="no recording at"):
        load_all(tmp_path / "absent.yaml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordingFormatError, match="no recordings"):
        load_all(empty)
    with pytest.raises(RecordingFormatError, match="endpoint"):
        load_all(DEMO, "Contoso.NoSuchEndpoint")


def test_scrub_is_consistent_and_case_insensitive() -> None:
    scrub = ScrubMap({"connect01.corp.contoso.com": "connect01.example", "CORP": "DOMAIN"})
    text = "CONNECT01.corp.contoso.com and corp\\svc and connect01.corp.contoso.com"
    assert scrub.apply(text) == "connect01.example and DOMAIN\\svc and connect01.example"


def test_secure_strings_never_survive() -> None:
    clixml = '<Obj><MS><SS N="Password">AAECAwQ=</SS><SS>BBB=</SS></MS></Obj>'
    out = redact_secure_strings(clixml)
    assert "<SS" not in out and "AAECAwQ=" not in out
    assert '<S N="Password">[redacted SecureString]</S>' in out


def test_write_refused_while_a_secret_remains_and_old_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("previous content")
    leaky = cassette([{"command": "Get-Thing", "warnings": ["the password is Hunter2-Secret"]}])
    with pytest.raises(RecordingSecretError) as info:
        leaky.save(path, secrets=["Hunter2-Secret"])
    assert "Hunter2-Secret" not in str(info.value)
    assert path.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]  # no temporary left behind
    leaky.save(path, scrub=ScrubMap({"Hunter2-Secret": "REDACTED"}), secrets=["Hunter2-Secret"])
    assert "Hunter2-Secret" not in path.read_text()


def test_unwritable_destination_is_a_one_line_replay_error(tmp_path: Path) -> None:
    from psbridge import ReplayError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ReplayError, match="cannot write recording") as info:
        cassette([SPEC]).save(blocker / "c.yaml")
    assert "\n" not in str(info.value)


# -- scrubbing replaces whole tokens of values, never parts of other words or the file's structure -----------

SEPARATORS = st.sampled_from(["\\", "@", ".", " ", ",", "/", "-", ":", "=", ";", "(", ")", "'"])
NAMES = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
ALNUM = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=6)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("ci", "UserPrincipalName", "UserPrincipalName"),
        ("ci", "CONTOSO\\ci and ci@contoso.com and ci", "CONTOSO\\user and user@contoso.com and user"),
        ("CI", "Ci", "user"),
        ("sync", "adsync/Get-Scheduler.ps1 Get-ADSyncScheduler", "adsync/Get-Scheduler.ps1 Get-ADSyncScheduler"),
        ("de", "origin: recorded; description", "origin: recorded; description"),
        ("de", "de", "user"),
    ],
)
def test_a_name_is_scrubbed_only_as_a_whole_token(name: str, text: str, expected: str) -> None:
    assert ScrubMap({name: "user"}).apply(text) == expected


@settings(max_examples=300, deadline=None)
@given(name=NAMES, before=ALNUM, after=ALNUM)
def test_scrubbing_a_name_inside_other_words_leaves_them_intact(name: str, before: str, after: str) -> None:
    assume(before or after)
    word = before + name + after
    assert ScrubMap({name: "<placeholder>"}).apply(word) == word


@settings(max_examples=300, deadline=None)
@given(name=NAMES, parts=st.lists(st.tuples(st.one_of(NAMES, ALNUM), SEPARATORS), max_size=8))
def test_every_whole_token_equal_to_the_name_is_replaced_and_nothing_else(
    name: str, parts: list[tuple[str, str]]
) -> None:
    text = "".join(token + separator for token, separator in parts)
    expected = "".join(
        ("<placeholder>" if token.lower() == name.lower() else token) + separator for token, separator in parts
    )
    assert ScrubMap({name: "<placeholder>"}).apply(text) == expected


def _named(name: str) -> list[dict[str, object]]:
    """Episodes where `name` sits inside command, type, property and parameter names and inside values,
    and stands alone as a value."""
    return [
        {
            "command": f"Get-Ad{name}Scheduler",
            "parameters": [{"name": f"X{name}", "value": f"q{name}q"}, {"name": "Mode", "value": "Delta"}],
            "output": [
                {
                    "type_names": [f"Contoso.{name}.Thing", "System.Object"],  # type names are kept
                    "properties": {f"User{name}Name": f"{name}", "Note": f"re{name}corded by {name}"},
                }
            ],
            "warnings": [f"CONTOSO\\{name} is a{name}b"],
        },
        {"script": "adsync/Get-Scheduler.ps1", "output": [{"properties": {"Origin": "recorded"}}]},
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5))
def test_a_scrubbed_recording_still_loads_and_replays_its_episodes(name: str) -> None:
    assume(name not in ("s", "n", "t", "x", "q", "is", "by"))  # CLIXML element names and the fixed words around it
    original = cassette(_named(name))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scrubbed.yaml"
        original.save(path, scrub=ScrubMap({name: "user@example"}), verify=True)
        loaded = Cassette.load(path)
        text = path.read_text()
    assert [ep.key for ep in loaded.episodes] == [ep.key for ep in original.episodes]
    player = EpisodePlayer(loaded.episodes, "scrubbed")
    assert [player.take(ep.key) for ep in original.episodes] == loaded.episodes
    assert loaded.origin == "synthetic" and "format_version: 1" in text
    output = next(m.clixml for m in loaded.episodes[0].messages if m.type == "PipelineOutput")
    assert f"<T>Contoso.{name}.Thing</T>" in output
    assert f'<S N="User{name}Name">user@example</S>' in output
    assert f"re{name}corded by user@example" in output
    warning = next(m.clixml for m in loaded.episodes[0].messages if m.type == "WarningRecord")
    assert f"CONTOSO\\user@example is a{name}b" in warning


def test_a_scrubbed_parameter_value_is_marked_and_replays_for_the_real_value(tmp_path: Path) -> None:
    """The client sends the real name on replay; the file holds the placeholder, marked `scrubbed`, which
    matches any value, after the episodes that match exactly."""
    path = tmp_path / "c.yaml"
    recorded = cassette(
        [
            {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "ci"}], "output": ["ci's"]},
            {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "bob"}], "output": ["bob's"]},
        ]
    )
    recorded.save(path, scrub=ScrubMap({"ci": "user@example"}), verify=True)
    text = path.read_text()
    assert "value: user@example\n      scrubbed: true" in text and "value: ci" not in text
    loaded = Cassette.load(path)
    assert [p.scrubbed for ep in loaded.episodes for p in ep.key.statements[0].params] == [True, False]
    player = EpisodePlayer(loaded.episodes, "c.yaml")
    bob, ci = (Key.from_data([{"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": v}]}])
               for v in ("bob", "ci"))  # fmt: skip
    assert player.take(bob) is loaded.episodes[1]  # the exact match, though the scrubbed one comes first
    assert player.take(ci) is loaded.episodes[0]


def test_a_save_that_does_not_load_back_as_written_is_refused_and_kept_aside(tmp_path: Path, mocker: Any) -> None:
    """Read back, the file must replay every episode: here a writer that loses a parameter's value (any
    fault between writing and reading) refuses the save, leaves the earlier file, keeps the text aside."""
    path = tmp_path / "c.yaml"
    path.write_text("previous content")
    recorded = cassette([DATE_SPEC, {"command": "Get-ADUser", "parameters": [{"name": "Identity", "value": "ci"}]}])
    mocker.patch.object(Param, "to_data", lambda self: {"name": self.name, "value": "lost"})
    with pytest.raises(RecordingFormatError) as info:
        recorded.save(path, verify=True)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 2
    assert message == (
        f'recording {path} does not replay: episode 2, `Get-ADUser -Identity "ci"`, would not be found (written as '
        f'`Get-ADUser -Identity "lost"`); the file is kept as {path}.unverified'
    )
    assert path.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "c.yaml.unverified"]


def test_the_dumper_writes_no_anchors_even_for_a_shared_value(tmp_path: Path) -> None:
    shared = {"seed": 1, "faults": [{"fault": "reset", "rate": 0.1}]}
    recorded = cassette([SPEC])
    recorded.faults = {"seed": 1, "faults": shared["faults"], "again": shared["faults"]}
    text = recorded.dumps()
    assert "&id" not in text and "*id" not in text


# -- bounded inputs --------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """The "billion laughs" pattern as a recording: `levels` nested anchors, each `width` aliases wide."""
    lines = ["format_version: 1", "origin: recorded", 'l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    lines.append(f"episodes: *l{levels}")
    return "\n".join(lines) + "\n"


def test_a_nested_alias_recording_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    text = alias_bomb()
    path.write_text(text + "#" * (54_000 - len(text)) + "\n")  # 54 KB, as the file
    started = time.monotonic()
    with pytest.raises(RecordingFormatError) as info:
        Cassette.load(path)
    assert time.monotonic() - started < 10  # unbounded: tens of seconds and gigabytes (not a timing claim)
    assert str(info.value) == f"recording {path} is refused: YAML anchors and aliases are not accepted (line 3)"


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_recording_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "odd.yaml"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(RecordingFormatError, match=r"is not a regular file \(a (FIFO|directory)\)") as info:
        load_all(tmp_path)  # the directory walk reads it (refused), never blocks on it
    assert str(path) in str(info.value)
    with pytest.raises(RecordingFormatError, match="not a regular file"):
        Cassette.load(path)


def test_a_fault_file_with_aliases_or_not_regular_is_one_input_error(tmp_path: Path) -> None:
    from psbridge import InputError
    from psbridge.replay.faults import read_fault_file

    aliased = tmp_path / "faults.yaml"
    aliased.write_text("seed: 1\nrule: &r {fault: reset}\nfaults: [*r, *r]\n")
    with pytest.raises(InputError, match=r"fault file .*faults.yaml: refused: YAML anchors and aliases are not"):
        read_fault_file(aliased)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"fault file .*fifo.yaml is not a regular file \(a FIFO\)"):
        read_fault_file(fifo)
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1\n")
    with pytest.raises(InputError) as info:
        read_fault_file(broken)
    assert str(info.value) == f"cannot read the fault file {broken}: not valid YAML at line 2"


def test_a_source_may_share_values_through_aliases_but_not_expand_without_bound(tmp_path: Path) -> None:
    from psbridge.replay.synthetic import MAX_SOURCE_NODES, SourceExpansionError, load_source

    shared = tmp_path / "shared.yaml"
    shared.write_text("a: &a {x: 1}\nb: [*a, *a]\n")
    assert load_source(shared) == {"a": {"x": 1}, "b": [{"x": 1}, {"x": 1}]}
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    started = time.monotonic()
    with pytest.raises(SourceExpansionError, match=f"expand to more than {MAX_SOURCE_NODES} values"):
        load_source(bomb)
    assert time.monotonic() - started < 10
    loop = tmp_path / "loop.yaml"
    loop.write_text("a: &a [1, *a]\n")
    with pytest.raises(SourceExpansionError, match="refers to itself"):
        load_source(loop)


def test_the_authoring_script_refuses_a_bomb_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from psbridge.replay.synthetic import main

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert main([str(bomb), "-o", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expand to more than" in err
    assert not (tmp_path / "out.yaml").exists()
