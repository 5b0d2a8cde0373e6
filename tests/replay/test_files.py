import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from psbridge import Session, UnexpectedOutputError
from psbridge.files import fetch

REMOTE = "C:\\Windows\\Temp\\export.zip"


def chunk_specs(payload: bytes, size: int, digest: str | None = None) -> list[dict]:
    specs = []
    for offset in range(0, len(payload), size):
        part = payload[offset : offset + size]
        last = offset + size >= len(payload)
        props = {
            "Length": {"I64": len(payload)},
            "Offset": {"I64": offset},
            "Data": base64.b64encode(part).decode(),
            "Sha256": (digest or hashlib.sha256(payload).hexdigest().upper()) if last else {"Nil": None},
        }
        params = [
            {"name": "Path", "value": REMOTE},
            {"name": "Offset", "value": offset},
            {"name": "Length", "value": size},
        ]
        specs.append({"script": "common/Read-FileChunk.ps1", "parameters": params, "output": [{"properties": props}]})
    return specs


def test_fetch_in_chunks_and_verify(replay_session: Callable[..., Session], tmp_path: Path) -> None:
    payload = bytes(range(256)) * 10  # 2,560 bytes: three chunks of 1,024
    session = replay_session(chunk_specs(payload, 1024))
    fetched = fetch(session, REMOTE, tmp_path, chunk=1024)
    assert fetched.local_path == tmp_path / "export.zip"
    assert fetched.local_path.read_bytes() == payload
    assert fetched.size == len(payload) and fetched.sha256 == hashlib.sha256(payload).hexdigest()


def test_a_corrupt_copy_is_never_left_behind(replay_session: Callable[..., Session], tmp_path: Path) -> None:
    payload = b"x" * 1500
    session = replay_session(chunk_specs(payload, 1024, digest="00" * 32))
    with pytest.raises(UnexpectedOutputError, match="SHA-256"):
        fetch(session, REMOTE, tmp_path / "out.zip", chunk=1024)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording.yaml"]  # only the test's own file
