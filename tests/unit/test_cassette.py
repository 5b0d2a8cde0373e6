from pathlib import Path

import pytest
import yaml
from helpers import DEMO, cassette

from psbridge import RecordingFormatError, RecordingSecretError
from psbridge.replay.cassette import Cassette, ScrubMap, load_all, redact_secure_strings
from psbridge.replay.episodes import RecordedMessage

SPEC = {"command": "Get-Thing", "output": [{"properties": {"Name": "line1_x000A_line2", "N": {"I32": 3}}}]}


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
