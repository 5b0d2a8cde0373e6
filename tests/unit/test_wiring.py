"""The wiring: one factory opens every session and Graph client, and the layers point one way.

- Only `psbridge.targets.factory` makes a Session or a GraphClient (and `psbridge.replay` the replayed
  Session it hands the factory, or the pytest plugin's fixture); everything else asks `Targets` for one.
- The core (session, command, config, options, result, errors, retry) imports no replay, product or
  runbook module, not even inside a function.
- `Targets` routes recording to one file or to a directory, and `Targets.of` wraps sessions made elsewhere.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from helpers import DEMO
from pytest_mock import MockerFixture

from psbridge.config import Config, TargetMissingError
from psbridge.errors import InputError
from psbridge.options import ConnectionOptions
from psbridge.session import Session
from psbridge.targets import Targets

PACKAGE = Path(__file__).resolve().parents[2] / "psbridge"
MAKERS = {"Session", "GraphClient", "recorded_session"}
# Where a Session or GraphClient may be made: the factory, the replay constructor it calls, and the pytest
# plugin's `psbridge_session` fixture (a replayed session for a user's own tests).
MAKES_SESSIONS = {"targets/factory.py", "replay/transport.py", "replay/plugin.py"}
CORE = ("session.py", "command.py", "config.py", "options.py", "result.py", "errors.py", "retry.py")
NOT_IN_CORE = ("psbridge.replay", "psbridge.adsync", "psbridge.cloudsync", "psbridge.exchange", "psbridge.ad",
               "psbridge.graph", "psbridge.runbooks", "psbridge.targets", "psbridge.cli")  # fmt: skip


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PACKAGE)), ast.parse(p.read_text(encoding="utf-8"))) for p in PACKAGE.rglob("*.py")]


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):  # requests.Session: not ours
        owner, attr = node.func.value.id, node.func.attr
        return owner if attr in ("replay", "record") else None if owner == "requests" else attr
    return None


def test_only_the_factory_makes_sessions_and_graph_clients() -> None:
    made = sorted(
        f"{name}:{node.lineno} {_called(node)}"
        for name, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called(node) in MAKERS and name not in MAKES_SESSIONS
    )
    assert made == []


def test_the_core_imports_no_replay_product_or_runbook_module() -> None:
    found = []
    for name, tree in _modules():
        if name not in CORE:
            continue
        for node in ast.walk(tree):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{name}: {m}" for m in modules if m.startswith(NOT_IN_CORE)]
    assert found == []


def _options(host: str = "h.example") -> ConnectionOptions:
    return ConnectionOptions.build(host=host, auth="basic", username="u", password="p", tls=True)


def _empty(tmp_path: Path) -> Config:
    return Config(tmp_path / "none.toml", "default", exists=False)


def test_recording_to_a_directory_writes_one_file_per_session_and_graph_under_graph(tmp_path: Path) -> None:
    targets = Targets(_empty(tmp_path), record=tmp_path / "out", prompt=False)
    assert not targets.records_to_one_file
    assert targets._record_path("connect") == tmp_path / "out" / "connect.yaml"
    assert targets._record_path("dc") == tmp_path / "out" / "dc.yaml"
    assert targets._record_path("graph") == tmp_path / "out" / "graph" / "graph.yaml"


def test_recording_to_one_file_takes_one_session_and_refuses_a_second(tmp_path: Path) -> None:
    targets = Targets(_empty(tmp_path), record=tmp_path / "one.yaml", prompt=False)
    assert targets.records_to_one_file
    assert targets.connect(_options(), name="connect").transport.path == tmp_path / "one.yaml"  # type: ignore[attr-defined]
    assert targets._record_path("connect") == tmp_path / "one.yaml"  # the same session again: fine
    with pytest.raises(InputError, match="records one session, and this run opens several"):
        targets.connect(_options("other.example"), name="dc")


def test_replay_and_record_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="exclude each other"):
        Targets(_empty(tmp_path), replay=tmp_path, record=tmp_path / "r.yaml")


def test_given_sessions_are_handed_out_by_role_and_left_open(mocker: MockerFixture) -> None:
    connect = mocker.create_autospec(Session, instance=True)
    with Targets.of({"connect": connect}) as targets:
        assert targets.session("connect") is connect
        assert targets.has("connect") and not targets.has("exo") and not targets.has_graph()
        with pytest.raises(TargetMissingError, match="no target for role 'exo'"):
            targets.session("exo")
    connect.close.assert_not_called()


def test_a_given_graph_opener_runs_only_when_graph_is_asked_for(mocker: MockerFixture) -> None:
    opener = mocker.Mock()
    targets = Targets.of({}, graph=opener)
    assert targets.has_graph()
    opener.assert_not_called()
    assert targets.graph() is opener.return_value
    assert targets.graph() is opener.return_value
    opener.assert_called_once()


def test_sessions_the_run_opened_are_closed_with_it(tmp_path: Path, mocker: MockerFixture) -> None:
    made = mocker.patch("psbridge.targets.factory.Session", autospec=True)
    targets = Targets(_empty(tmp_path), prompt=False)
    session = targets.adopt("connect", targets.connect(_options(), name="connect"))
    assert session is made.return_value and targets.session("connect") is session
    targets.close()
    session.close.assert_called_once_with()


def test_now_is_the_clock_live_and_the_recordings_time_under_replay(tmp_path: Path) -> None:
    live = Targets(_empty(tmp_path), prompt=False).now()
    assert abs((live - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    replayed = Targets(_empty(tmp_path), replay=DEMO, prompt=False).now()
    assert replayed == dt.datetime(2026, 11, 25, tzinfo=dt.UTC)  # every demo recording's recorded_at
