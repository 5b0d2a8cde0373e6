"""Fixtures shared by the test suite; plain helpers live in helpers.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from cli_helpers import Result
from helpers import FAST_RETRY, REPO, cassette

from psbridge import Session
from psbridge.cli import terminal
from psbridge.cli.main import main
from psbridge.replay.transport import recorded_session

# The 1,050-mailbox rollout scenario: a case of a test parametrized over every recording that names it takes
# seconds where the other cases take milliseconds.
SLOW_RECORDINGS = ("rollout/cloud-managed.yaml",)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a process (`subprocess`) is `slow` too, so `pytest -m "not slow"` runs none; so is
    a case of a parametrized test whose id names one of SLOW_RECORDINGS."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            continue
        callspec = getattr(item, "callspec", None)
        names_slow_recording = callspec is not None and any(name in callspec.id for name in SLOW_RECORDINGS)
        if item.get_closest_marker("subprocess") is not None or names_slow_recording:
            item.add_marker(pytest.mark.slow)


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
        session = recorded_session(write_cassette(specs), **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No PSBRIDGE_* setting, and no psbridge config file, from the caller's environment leaks in;
    structlog is left unconfigured afterwards."""
    for name in list(os.environ):
        if name.startswith("PSBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("COLUMNS", raising=False)  # tables wrap to it (psbridge.cli.output): tests opt in
    home = tmp_path_factory.mktemp("config-home")  # an empty per-user config location
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("APPDATA", str(home))
    monkeypatch.chdir(REPO)
    yield
    # terminal.configure() binds structlog to the sys.stderr of the moment (capsys's): don't leave that behind, nor
    # its route for the standard library's warnings (main() removes it when it ends; a test may call it alone).
    structlog.reset_defaults()
    terminal.finish()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `psbridge ARGS...` in-process; returns its exit code, stdout and stderr. stderr is no terminal: unless
    the run asked for text, every stderr line must be one JSON object (checked here, for every run)."""

    def run(*args: str | os.PathLike[str]) -> Result:
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        result = Result(code, captured.out, captured.err)
        if terminal.json_lines():
            assert result.events is not None
        return result

    return run


@pytest.fixture
def no_user_config() -> Path:
    """Where the per-user config file would be: in the empty directory `isolated` points XDG_CONFIG_HOME at."""
    return Path(os.environ["XDG_CONFIG_HOME"]) / "psbridge" / "config.toml"


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file (0600 unless told) and return its path."""

    def write(text: str, name: str = "psbridge.toml", mode: int = 0o600) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        return path

    return write
