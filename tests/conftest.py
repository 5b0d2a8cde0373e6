"""Fixtures shared by the test suite; plain helpers live in helpers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST_RETRY, cassette

from psbridge import Session


@pytest.fixture
def write_cassette(tmp_path: Path) -> Callable[..., Path]:
    def write(specs: Sequence[Mapping[str, Any]], name: str = "recording.yaml") -> Path:
        path = tmp_path / name
        cassette(specs).save(path)
        return path

    return write


@pytest.fixture
def replay_session(write_cassette: Callable[..., Path]) -> Iterator[Callable[..., Session]]:
    """Factory: a Session replaying the given episode specs (see psbridge.replay.synthetic)."""
    sessions: list[Session] = []

    def make(specs: Sequence[Mapping[str, Any]], **kwargs: Any) -> Session:
        kwargs.setdefault("retry", FAST_RETRY)
        session = Session.replay(write_cassette(specs), **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
