"""Copying a file from the remote host over the session's own runspace pool.

A packaged script reads the file in chunks as base64; the last chunk carries the file's SHA-256,
which the local copy must match. The local file appears only when complete and verified.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path

from pydantic import Field

from psbridge.command import Command
from psbridge.errors import InputError, UnexpectedOutputError
from psbridge.models import PSModel, from_output
from psbridge.session import Session

CHUNK = 1024 * 1024


class _Chunk(PSModel):
    length: int = Field(alias="Length", ge=0)
    offset: int = Field(alias="Offset", ge=0)
    data: str = Field(alias="Data")
    sha256: str | None = Field(default=None, alias="Sha256")


class FetchedFile(PSModel):
    remote_path: str
    local_path: Path
    size: int
    sha256: str


def fetch(session: Session, remote_path: str, local_path: str | os.PathLike[str], *, chunk: int = CHUNK) -> FetchedFile:
    """Copy `remote_path` on the target to `local_path`, verified by SHA-256."""
    if chunk < 1024:
        raise InputError("chunk must be at least 1024 bytes")
    local = Path(local_path)
    if local.is_dir():
        local = local / remote_path.replace("\\", "/").rsplit("/", 1)[-1]
    local.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    offset, expected = 0, None
    fd, tmp = tempfile.mkstemp(prefix=f".{local.name}.", dir=local.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                command = Command.script(
                    "common/Read-FileChunk.ps1", {"Path": remote_path, "Offset": offset, "Length": chunk}
                )
                result = session.invoke(command)
                (part,) = from_output(_Chunk, result.output, command=command.display(), target=session.target)
                data = base64.b64decode(part.data)
                out.write(data)
                digest.update(data)
                offset += len(data)
                if part.sha256 is not None or offset >= part.length or not data:
                    expected = part.sha256
                    break
        if expected is None or digest.hexdigest().lower() != expected.lower():
            raise UnexpectedOutputError(
                f"copy of {remote_path} from {session.target} does not match its SHA-256; nothing was written",
                target=session.target,
            )
        os.replace(tmp, local)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return FetchedFile(remote_path=remote_path, local_path=local, size=offset, sha256=digest.hexdigest())
