"""psbridge.safeio: YAML without aliases, and files read only when they are regular and of bounded size."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from psbridge import InputError, safeio


def nested_alias_bomb(size: int = 54_000, levels: int = 9) -> str:
    """A real "billion laughs" document of about `size` bytes: each level lists the level below many
    times, so it expands to width**levels strings once anything walks it."""
    width = max(2, size // (levels * 5))
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_plain_yaml_loads_as_safe_load_does() -> None:
    text = "a: 1\nb: [x, {c: true}]\nd: |\n  two\n  lines\n"
    assert safeio.load_yaml(text) == yaml.safe_load(text)


def test_an_alias_is_refused_with_its_line() -> None:
    with pytest.raises(safeio.YamlAliasError) as info:
        safeio.load_yaml("first: 1\nshared: &s {x: 1}\nagain: *s\n")
    assert str(info.value) == "YAML anchors and aliases are not accepted (line 2)"
    assert isinstance(info.value, yaml.YAMLError)  # callers that report bad YAML report this too


def test_unsafe_tags_stay_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        safeio.load_yaml("!!python/object/apply:os.system ['true']\n")


@pytest.mark.timeout(60)
def test_a_nested_alias_bomb_is_refused_fast() -> None:
    text = nested_alias_bomb()
    assert len(text) >= 50_000 and text.count("*l") > 5_000
    started = time.monotonic()
    with pytest.raises(safeio.YamlAliasError):
        safeio.load_yaml(text)
    # Refused before anything is expanded (without the check: tens of seconds and gigabytes). Generous
    # bound on a shared machine; not a performance claim.
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: p.mkdir(), "a directory"),
    ],
    ids=["fifo", "directory"],
)
@pytest.mark.timeout(30)
def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path, make: object, kind: str) -> None:
    path = tmp_path / "input.yaml"
    make(path)  # type: ignore[operator]
    for read in (safeio.regular_file, safeio.read_bytes, safeio.read_text):
        with pytest.raises(InputError) as info:
            read(path, "recording")
        assert str(info.value) == f"recording {path} is not a regular file ({kind})"


@pytest.mark.timeout(30)
def test_devices_are_refused(tmp_path: Path) -> None:
    for device in ("/dev/zero", "/dev/null"):
        if not Path(device).exists():
            pytest.skip(f"{device} is absent here")
        with pytest.raises(InputError, match=r"is not a regular file \(a character device\)"):
            safeio.read_bytes(device, "journal")
    link = tmp_path / "config.yaml"
    link.symlink_to("/dev/zero")  # a link is judged by what it leads to
    with pytest.raises(InputError, match="character device"):
        safeio.read_text(link, "config")


@pytest.mark.timeout(30)
def test_a_fifo_put_in_place_after_the_check_is_caught_through_the_descriptor(tmp_path: Path, mocker: object) -> None:
    """The race: the path check passed, then the file became a FIFO; the non-blocking open and the fstat
    re-check refuse it instead of blocking forever."""
    path = tmp_path / "journal.jsonl"
    os.mkfifo(path)
    mocker.patch.object(safeio, "regular_file", return_value=path)  # type: ignore[attr-defined]
    with pytest.raises(InputError, match=r"is not a regular file \(a FIFO\)"):
        safeio.read_bytes(path, "journal")


def test_missing_files(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    assert safeio.regular_file(absent, "report") == absent  # a file about to be written
    with pytest.raises(InputError, match=r"^recording .*absent.yaml does not exist$"):
        safeio.regular_file(absent, "recording", must_exist=True)
    with pytest.raises(InputError, match="does not exist"):
        safeio.read_text(absent, "recording")


def test_the_size_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 100)
    assert safeio.read_bytes(path, "recording", max_bytes=100) == b"x" * 100
    with pytest.raises(InputError) as info:
        safeio.read_bytes(path, "recording", max_bytes=99)
    assert str(info.value) == f"recording {path} is larger than 99 bytes"


def test_text_is_utf8_and_bad_bytes_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes("\ufeffname: Zoë\n".encode())
    assert safeio.read_text(path, "recording") == "name: Zoë\n"  # the BOM is dropped
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(InputError) as info:
        safeio.read_text(path, "recording")
    assert str(info.value) == f"recording {path} is not UTF-8 text (byte 6)"
