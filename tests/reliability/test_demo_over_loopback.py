"""Every demo command against `psbridge serve-replay recorded_sessions/demo`, the same as under `--replay`.

Issue 5's "done when": the loopback endpoint serves every command the demo recordings answer, to a
client that only knows it as a WinRM host (`--host 127.0.0.1 --port N --auth basic`), over plain HTTP
(`--no-tls`) and over TLS (`--ca-file`). 56 demo commands, over HTTP and over TLS: each one exits with
the same code and prints the same JSON as under `--replay recorded_sessions/demo`, says the same on
stderr apart from log events, sends the same remote commands in the same order, and never shows a
traceback. One endpoint process per transport serves every command (each client session is served the
recordings afresh), and it exits 0 on SIGTERM at the end.

The endpoint is a real `serve-replay` process; the clients run in this process (`psbridge.cli.main.main`,
stdout and stderr captured), which costs a fraction of a process each. `PROCESS_RUNS` also run as separate
`psbridge` processes against each endpoint, the password from the environment: what a real process prints
and its exit code are the same as in-process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import structlog
from cli_helpers import Result
from cloudsync_data import HEALTHY, QUARANTINED, TENANT, demo_object
from helpers import DEMO, REPO
from loopback import PASSWORD, USER, cli_args, port_of, reap, run_psbridge

from psbridge.cli.main import main
from psbridge.options import PASSWORD_ENV
from psbridge.replay import http
from psbridge.replay.cassette import load_all
from psbridge.replay.keys import Key

# The module's fixtures run every demo command three times (under replay, over two loopback endpoints), two
# `serve-replay` processes and a few client processes before the first test starts.
pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.timeout(300)]

SERVED = str(DEMO.relative_to(REPO))  # recorded_sessions/demo, run from the repository
REPLAY = ["--replay", SERVED, "-v", "-o", "json"]  # -v: the invoke events, on stderr
SCHEMA_FILE = "<schema file>"  # replaced by a file holding the demo's new schema for the Quarantine job
FETCH_DIR = "<fetch dir>"  # replaced by the folder of that file: where an export is fetched to
# The demo's sign-in (recorded_sessions/demo/exo.yaml). Under --replay it may be left out, but a client of
# the endpoint is talking to a live host as far as it knows, and a live host needs it: both runs pass it.
EXO = (
    "exo --organization contoso.onmicrosoft.com --app-id 6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b "
    "--certificate-thumbprint 3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"
)
JUMP = "exchange --via-jump-host ex01.contoso.example"
GRAPH_QUERY = (  # as recorded: the module's own filter for Cloud Sync service principals
    "https://graph.microsoft.com/beta/servicePrincipals?filter=applicationTemplateId eq "
    "'1a4721b3-e57f-4451-ae87-ef078703ec94'"
)


class Demo(NamedTuple):
    argv: tuple[str, ...]
    code: int = 0  # the exit code under --replay (README "Exit codes")


def demo(*parts: str | tuple[str, ...], code: int = 0) -> Demo:
    """A command line from words (a string is split at spaces; a tuple is taken as it is) and its exit code."""
    return Demo(tuple(word for part in parts for word in (part.split() if isinstance(part, str) else part)), code)


DEMO_COMMANDS: dict[str, Demo] = {
    # adsync.yaml: Entra Connect Sync on CONNECT01
    "adsync version": demo("adsync version --min 2.5.79.0"),
    "adsync version below the minimum": demo("adsync version --min 2.5.1000.0", code=1),
    "adsync global-settings": demo("adsync global-settings"),
    "adsync deletion-threshold": demo("adsync deletion-threshold"),
    "adsync scheduler": demo("adsync scheduler"),
    "adsync set-scheduler --dry-run": demo("adsync set-scheduler --interval 00:40:00 --maintenance --dry-run"),
    "adsync sync --yes --wait": demo("adsync sync --yes --wait --poll 0.001"),
    "adsync run-status": demo("adsync run-status"),
    "adsync connectors": demo("adsync connectors"),
    "adsync run-history": demo("adsync run-history"),
    "adsync auto-upgrade": demo("adsync auto-upgrade"),
    "adsync auto-upgrade --detail": demo("adsync auto-upgrade --detail"),
    "adsync export-config": demo("adsync export-config --path C:\\psbridge\\export --yes"),
    "adsync export-config --fetch-to": demo(
        "adsync export-config --path C:\\psbridge\\export --yes --fetch-to", (FETCH_DIR,)
    ),
    # cloudsync.yaml: Entra Cloud Sync on AGENT01
    "cloudsync status": demo("cloudsync status", code=1),  # a job is in quarantine
    "cloudsync status of the healthy job": demo(f"cloudsync status --job-id {HEALTHY}"),
    "cloudsync connect": demo("cloudsync connect"),
    "cloudsync --sign-in jobs": demo("cloudsync --sign-in jobs"),
    "cloudsync info": demo("cloudsync info"),
    "cloudsync agent": demo("cloudsync agent"),  # agent.yaml: the agent installed on AGENT01
    "cloudsync schedule": demo("cloudsync schedule"),
    "cloudsync settings": demo("cloudsync settings"),
    "cloudsync schema": demo(f"cloudsync schema --job-id {HEALTHY}"),
    "cloudsync scope": demo(f"cloudsync scope --job-id {HEALTHY}"),
    "cloudsync service-principal": demo("cloudsync service-principal"),
    "cloudsync service-account": demo("cloudsync service-account"),
    "cloudsync query": demo("cloudsync query --uri", (GRAPH_QUERY,)),
    "cloudsync resume --wait-for missed": demo(
        f"cloudsync resume --job-id {QUARANTINED} --yes --wait-for Paused --deadline 0", code=1
    ),
    "cloudsync restart --yes": demo(f"cloudsync restart --job-id {QUARANTINED} --yes"),
    "cloudsync suspend --yes": demo(f"cloudsync suspend --job-id {HEALTHY} --yes"),
    "cloudsync set-schema --yes": demo(f"cloudsync set-schema --job-id {QUARANTINED} --file", (SCHEMA_FILE,), "--yes"),
    "cloudsync disable-dirsync-deletion-prevention --yes": demo(
        f"cloudsync disable-dirsync-deletion-prevention --tenant-id {TENANT} --yes"
    ),
    "cloudsync repair-account --yes": demo("cloudsync repair-account --yes"),
    "cloudsync set-tenant-id": demo(f"cloudsync set-tenant-id {TENANT}"),
    "cloudsync install-prerequisites": demo("cloudsync install-prerequisites --yes"),
    "cloudsync verbose-logs start": demo("cloudsync verbose-logs start --yes"),
    "cloudsync verbose-logs stop": demo("cloudsync verbose-logs stop --yes"),
    "cloudsync export-logs": demo("cloudsync export-logs --yes"),
    # exo.yaml: Exchange Online through JUMP01
    "exo mailbox list": demo(EXO, "mailbox list"),
    "exo mailbox list --cloud-managed": demo(EXO, "mailbox list --cloud-managed"),
    "exo mailbox get": demo(EXO, "mailbox get --identity adele@contoso.example"),
    "exo cloud-managed set --yes": demo(EXO, "cloud-managed set --identity alex@contoso.example --enable --yes"),
    "exo email-address add --yes": demo(
        EXO, "email-address add --identity adele@contoso.example --address adele.vance@contoso.example --yes"
    ),
    "exo email-address remove --yes": demo(
        EXO, "email-address remove --identity adele@contoso.example --address old@contoso.example --yes"
    ),
    "exo user get": demo(EXO, "user get --identity dana@contoso.example"),
    "exo clear-previous-mailbox-info --yes": demo(
        EXO, "clear-previous-mailbox-info --identity dana@contoso.example --yes"
    ),
    "exo clear-previous-mailbox-info refused": demo(
        EXO, "clear-previous-mailbox-info --identity lee@contoso.example --yes", code=2
    ),  # lee has no previous mailbox info
    "exo org-default get": demo(EXO, "org-default get"),
    "exo org-default set --yes": demo(EXO, "org-default set --enable --yes"),
    "exo accepted-domains": demo(EXO, "accepted-domains"),
    # exchange.yaml: Exchange Server EX01 on its own endpoint (Microsoft.Exchange, path /PowerShell)
    "exchange mailbox get": demo("exchange mailbox get --identity dana@contoso.example"),
    "exchange remote-mailbox get": demo("exchange remote-mailbox get --identity adele@contoso.example"),
    "exchange mail-user get": demo("exchange mail-user get --identity pat@fabrikam.example"),
    # exchange-jump.yaml: the same server through JUMP01
    "exchange --via-jump-host mailbox get": demo(JUMP, "mailbox get --identity dana@contoso.example"),
    "exchange --via-jump-host remote-mailbox get": demo(JUMP, "remote-mailbox get --identity adele@contoso.example"),
    "exchange --via-jump-host mail-user get": demo(JUMP, "mail-user get --identity pat@fabrikam.example"),
}

# Exchange Server direct goes to http(s)://<host>:<port>/PowerShell, where a real Exchange server serves
# PSRP; the endpoint serves that path too.
EXCHANGE_DIRECT = {
    name for name, demo in DEMO_COMMANDS.items() if demo.argv[0] == "exchange" and demo.argv[:3] != tuple(JUMP.split())
}


# -- running the table ------------------------------------------------------------------------------------

# Run as separate processes too, over each endpoint: a report (exit 0), a finding (exit 1), a refusal (exit 2).
PROCESS_RUNS = ("adsync version", "cloudsync status", "exo clear-previous-mailbox-info refused")


@contextlib.contextmanager
def _as_a_test_runs(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[None]:
    """What the autouse `isolated` fixture gives a test, for these module-scoped runs: no PSBRIDGE_* from
    the caller's shell, no per-user config file, the repository as the working directory; then `env`."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PSBRIDGE_")]:
            patch.delenv(name)
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("demo-config-home")))
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(REPO)
        yield


def _in_process(argv: list[str]) -> Result:
    """`psbridge ARGV` in this process, its stdout and stderr captured (stderr is no terminal: JSON log lines)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        structlog.reset_defaults()  # terminal.configure() bound structlog to `err`
    return Result(code, out.getvalue(), err.getvalue())


def _as_processes(argvs: dict[str, list[str]]) -> dict[str, Result]:
    """Each command line as its own `psbridge` process, several at a time."""

    def run(argv: list[str]) -> Result:
        proc = run_psbridge(*argv)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    with ThreadPoolExecutor(max_workers=len(argvs)) as pool:
        return dict(zip(argvs, pool.map(run, argvs.values()), strict=True))


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-loopback") / "schema.json"
    path.write_text(demo_object("schema_after"), encoding="utf-8")  # exactly the text the recording expects
    return path


def _command(name: str, schema_file: Path) -> list[str]:
    files = {SCHEMA_FILE: str(schema_file), FETCH_DIR: str(schema_file.parent)}
    return [files.get(arg, arg) for arg in DEMO_COMMANDS[name].argv]


@pytest.fixture(scope="module")
def replayed(schema_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Each command under `--replay recorded_sessions/demo`."""
    with _as_a_test_runs(tmp_path_factory):
        return {name: _in_process([*REPLAY, *_command(name, schema_file)]) for name in DEMO_COMMANDS}


@contextlib.contextmanager
def _serve_replay(cert_dir: Path | None) -> Iterator[str]:
    """`psbridge serve-replay recorded_sessions/demo --port 0 --user ci` (`--tls --cert-dir`): its URL.

    Stopped with SIGTERM at the end, which must exit 0 with nothing on stderr but what it printed there.
    """
    tls = ["--tls", "--cert-dir", str(cert_dir)] if cert_dir is not None else []
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PSBRIDGE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", "serve-replay", SERVED, "--port", "0", "--user", USER, *tls],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**environment, http.PASSWORD_ENV: PASSWORD},
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        if cert_dir is not None:
            assert proc.stdout.readline().strip() == f"ca file: {cert_dir / 'ca.pem'}"
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http"), (line, proc.poll())
        yield line.removeprefix("listening on ")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        reap(proc)


def _endpoint_command(name: str, schema_file: Path, *, tls: bool) -> list[str]:
    command = _command(name, schema_file)
    if tls and name in EXCHANGE_DIRECT:
        # Exchange Server direct picks its own scheme: http, or https with --https. The port stays the given one.
        command.insert(1, "--https")
    return command


class OverEndpoint(NamedTuple):
    in_process: dict[str, Result]  # every command of the table
    processes: dict[str, Result]  # PROCESS_RUNS, each a separate `psbridge` process


@pytest.fixture(scope="module", params=["http", "tls"])
def over_endpoint(
    request: pytest.FixtureRequest, schema_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OverEndpoint]:
    """Each command as a client of one `serve-replay` process: plain HTTP, or HTTPS validated with the CA file."""
    tls = request.param == "tls"
    cert_dir = tmp_path_factory.mktemp("demo-ca") if tls else None
    with _serve_replay(cert_dir) as url:
        if cert_dir is None:
            options = cli_args(url)
        else:
            assert url.startswith("https://127.0.0.1:")
            options = ["--host", "127.0.0.1", "--port", str(port_of(url)), "--auth", "basic", "--username", USER,
                       "--ca-file", str(cert_dir / "ca.pem")]  # fmt: skip

        def argv(name: str) -> list[str]:
            return [*options, "-v", "-o", "json", *_endpoint_command(name, schema_file, tls=tls)]

        with _as_a_test_runs(tmp_path_factory, **{PASSWORD_ENV: PASSWORD}):
            in_process = {name: _in_process(argv(name)) for name in DEMO_COMMANDS}
            processes = _as_processes({name: argv(name) for name in PROCESS_RUNS})
        yield OverEndpoint(in_process, processes)


# -- what a run shows -------------------------------------------------------------------------------------


def _document(result: Result, target: str) -> Any:
    """The JSON on stdout (None when there is none). `target` names the host a version check ran against: under
    --replay of a directory holding several hosts it is the directory, over the endpoint the --host given.
    It is the one field that legitimately differs, so it is checked here and then left out."""
    if not result.out:
        return None
    document = json.loads(result.out)
    if isinstance(document, dict) and "target" in document:
        assert document.pop("target") == target
    return document


def _said(result: Result) -> list[str]:
    """stderr without the -v log events (JSON lines): errors, warnings, the device-code instruction."""
    return [line for line in result.err.splitlines() if not line.startswith("{")]


def _sent(result: Result) -> list[str]:
    """The remote commands of the run, in order, from its `psbridge.invoke` log events."""
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    return [str(e["command"]) for e in events if e.get("event") == "psbridge.invoke"]


# -- the done-when ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEMO_COMMANDS)
def test_a_demo_command_over_the_endpoint_is_the_same_as_under_replay(
    name: str, replayed: dict[str, Result], over_endpoint: OverEndpoint
) -> None:
    want, got = replayed[name], over_endpoint.in_process[name]
    assert want.code == DEMO_COMMANDS[name].code, want  # the table says what the recordings answer
    assert _sent(want), want  # the command did reach the (in-process) server
    assert "Traceback" not in want.err
    assert "Traceback" not in got.err, got.err
    assert got.code == want.code, got.err
    assert _document(got, "127.0.0.1") == _document(want, SERVED)
    assert _said(got) == _said(want)
    assert _sent(got) == _sent(want)


@pytest.mark.parametrize("name", PROCESS_RUNS)
def test_a_demo_command_as_a_process_is_the_same_as_in_process(name: str, over_endpoint: OverEndpoint) -> None:
    """A separate process (the password from PSBRIDGE_PASSWORD, output through the real streams) agrees with
    the in-process run of the same command against the same endpoint."""
    want, got = over_endpoint.in_process[name], over_endpoint.processes[name]
    assert "Traceback" not in got.err, got.err
    assert got.code == want.code == DEMO_COMMANDS[name].code, got.err
    assert _document(got, "127.0.0.1") == _document(want, "127.0.0.1")
    assert _said(got) == _said(want)
    assert _sent(got) == _sent(want)
    assert _sent(got), got.err  # the process did reach the endpoint


_SENT = re.compile(r'(?:script )?(\S+)(?: -(?:Function|Command) ("(?:[^"\\]|\\.)*"))?')


def _family_sent(command: str) -> tuple[str, str | None, bool]:
    """A logged command's family: cmdlet or script, the function or cmdlet it runs, whether on-premises."""
    match = _SENT.match(command)
    assert match is not None, command
    runs = json.loads(match[2]) if match[2] else None
    return match[1], runs, bool(re.search(r" -OnPremises(?: -|$)", command))


def _families_recorded(key: Key) -> list[tuple[str, str | None, bool]]:
    families = []
    for statement in key.statements:
        first = statement.params[0] if statement.params else None
        runs = first.value if first is not None and first.name in ("Function", "Command") else None
        families.append((statement.command, runs, any(p.name == "OnPremises" for p in statement.params)))
    return families


# Episode families no command of the table sends, and why. `psbridge config check` probes each target of a
# config file with Select-Object (no input); its connections come from the file's targets, not from the
# global --host/--port/--auth options of the done-when, so it has no row here (tests/test_cli_targets.py).
ELSEWHERE = {
    ("Select-Object", None, False): "psbridge config check: targets from a config file",
    # Every mailbox's identity (exo.yaml), unfiltered: read only by `psbridge selftest`, which runs each role's
    # reads against targets of its own (tests/test_selftest.py replays it on the demo); the rollout filters.
    ("exchange/Get-MailboxIdentities.ps1", None, False): "psbridge selftest: the exo target's unfiltered listing",
    # Active Directory (ad.yaml): read and changed by the duplicate-mailbox and migration runbooks, which take
    # several targets at once from a config file (tests/test_runbook_duplicate.py, test_runbook_migration.py).
    **dict.fromkeys(
        [(name, None, False) for name in
         ("Get-ADUser", "Get-ADGroup", "Get-ADGroupMember", "Add-ADGroupMember", "Get-ADOrganizationalUnit")],
        "the duplicate-mailbox and migration runbooks: several targets from a config file",
    ),
}  # fmt: skip


def test_the_table_exercises_every_demo_recording_and_episode_family(replayed: dict[str, Result]) -> None:
    """A family is a cmdlet or packaged script with the function or cmdlet it runs (and on-premises or not)."""
    recorded: dict[tuple[str, str | None, bool], set[str]] = {}
    for cassette in load_all(DEMO):
        assert cassette.path is not None
        for episode in cassette.episodes:
            for family in _families_recorded(episode.key):
                recorded.setdefault(family, set()).add(cassette.path.name)
    sent = {_family_sent(command) for result in replayed.values() for command in _sent(result)}
    assert sent <= set(recorded)  # the parsing of the log agrees with the recordings
    assert set(ELSEWHERE) <= set(recorded) - sent  # each exception is still needed
    covered = sent | set(ELSEWHERE)
    assert {file for family in covered for file in recorded[family]} == {path.name for path in DEMO.glob("*.yaml")}
    assert sorted(set(recorded) - covered, key=str) == []
    assert f"{len(DEMO_COMMANDS)} demo commands, over HTTP and over TLS" in " ".join((__doc__ or "").split())
