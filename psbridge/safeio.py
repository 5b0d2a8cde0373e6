"""Reading the files psbridge is handed, within bounds.

Every file psbridge reads or appends to on a user's say-so (configuration, recordings, cassettes, fault files,
journals, identity lists, reports) goes through here, so that three hazards are refused in one place:

- a path that is not a regular file: a FIFO blocks the reader forever, a device such as `/dev/zero` never
  ends, and a directory gives an error that names nothing useful;
- a file far larger than any psbridge writes (`max_bytes`);
- YAML aliases (references to an anchor). psbridge's own recordings never use them, and nested aliases make
  a few kilobytes expand into gigabytes once anything walks the result (the "billion laughs" pattern). An
  anchor that nothing refers to changes nothing and is accepted; the message names both, as users know them.

Appending durably (`open_for_append`, `append_durably`: journals, reports) is here too: the file is opened
unbuffered, so nothing is left in a buffer that a later close could fail to flush a second time, and a write
that fails (a full disk) is cut off again and raised as one `LocalWriteError` line, leaving the file whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
from io import FileIO
from pathlib import Path
from typing import Any

import yaml

from psbridge.errors import InputError, LocalWriteError

MAX_BYTES = 256 * 1024 * 1024

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlAliasError(yaml.YAMLError):
    """A YAML document used an alias. A `yaml.YAMLError`, so callers that report bad YAML report it too."""

    def __init__(self, line: int | None) -> None:
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"YAML anchors and aliases are not accepted{where}"


class _NoAliasLoader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader (its C build when present) that refuses any node reached twice.

    The composer turns an alias into a second reference to the anchored node, so a node met twice in one
    walk of the document is exactly an alias. The walk is linear in the size of the text.
    """

    def construct_document(self, node: Any) -> Any:
        seen: set[int] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in seen:
                mark = getattr(current, "start_mark", None)
                raise YamlAliasError(mark.line + 1 if mark is not None else None)
            seen.add(id(current))
            if isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    stack.append(key)
                    stack.append(value)
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
        return super().construct_document(node)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, refusing any alias (raises `YamlAliasError`, a `yaml.YAMLError`)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def regular_file(path: str | os.PathLike[str], what: str, *, must_exist: bool = False) -> Path:
    """`path`, refused with one line unless it is a regular file (or absent, when `must_exist` is false).

    Symbolic links are followed: what counts is the file they lead to.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if must_exist:
            raise InputError(f"{what} {p} does not exist") from None
        return p
    except OSError as exc:
        raise InputError(f"cannot use {what} {p}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} {p} is not a regular file ({_kind(mode)})")
    return p


def read_bytes(path: str | os.PathLike[str], what: str, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; every failure is one `InputError` line.

    The file is opened without blocking and checked again through its descriptor, so a FIFO put in the
    file's place between the check and the open cannot hang the reader.
    """
    p = regular_file(path, what, must_exist=True)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{what} {p} is not a regular file ({_kind(mode)})")
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"{what} {p} is larger than {max_bytes} bytes")
    return data


def read_text(path: str | os.PathLike[str], what: str, *, max_bytes: int = MAX_BYTES) -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is dropped); bad bytes are one `InputError` line."""
    data = read_bytes(path, what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def open_for_append(path: Path, what: str) -> FileIO:
    """`path` opened unbuffered for reading and appending (created if missing), refused with one line
    unless it is a regular file: checked before the open and again through the descriptor."""
    regular_file(path, what)
    try:
        handle = FileIO(path, "a+")
    except OSError as exc:
        raise InputError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(handle.fileno()).st_mode
    if not stat.S_ISREG(mode):
        handle.close()
        raise InputError(f"{what} {path} is not a regular file ({_kind(mode)})")
    return handle


def append_durably(handle: FileIO, data: bytes, path: Path, what: str) -> None:
    """Append `data` and fsync it. On failure (a full disk) what was written of it is cut off again
    (best effort) and the error is one LocalWriteError line; nothing is left in a buffer to fail again."""
    start = os.lseek(handle.fileno(), 0, os.SEEK_END)
    try:
        view = memoryview(data)
        while view:
            written = handle.write(view)
            if not written:
                raise OSError(0, "nothing was written")
            view = view[written:]
        os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(handle.fileno(), start)
        raise LocalWriteError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"
