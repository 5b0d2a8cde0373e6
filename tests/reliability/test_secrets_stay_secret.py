"""Secrets: a full CLI run against the loopback endpoint leaks the WinRM password nowhere.

The endpoint serves the demo recordings over a real socket with Basic auth, and its password is
SECRET. Seven `psbridge` processes use it with `-vv -o json`: adsync version, adsync scheduler,
cloudsync status, an Exchange Online mailbox listing that signs in app-only with a certificate, a
command the recordings lack (a replay miss, exit 2), a refused sign-in (exit 3) and a run with
`--record`. Their stdout (the JSON), their stderr (debug events, pypsrp's payload logs, the error
lines and their tracebacks) and the written recording are searched for the password as text,
XML-escaped and base64-encoded at each of the three byte alignments.

Each process runs with the standard library's logging at DEBUG (a `sitecustomize` on PYTHONPATH, as an
operator's environment might do): without it pypsrp and psrpcore log nothing, and `-vv` alone shows
psbridge's own events only, so the logs would hold no traffic that could leak.

No certificate password is tested because the CLI accepts none: Exchange Online signs in with a
certificate already in the jump host's store, named by `--certificate-thumbprint` (not a secret), and
`--cert-key-pem` (client certificate auth) takes no passphrase. The WinRM password is the CLI's one secret.

Figures: 7 commands, 15 texts (14 streams and 1 recording), 0 occurrences of the password in any form.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from helpers import DEMO
from loopback import USER, cli_args, endpoint, run_psbridge

from psbridge.logs import secret_forms
from psbridge.replay import http

# Distinctive, and with every character XML escapes, so the escaped forms differ from the plain one.
SECRET = "Wq7&<winrm-Secret>'\"Kz9"
# The app-only sign-in the demo recording holds (recorded_sessions/sources/demo/exo.yaml).
EXO = ["exo", "--organization", "contoso.onmicrosoft.com", "--app-id", "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
       "--certificate-thumbprint", "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"]  # fmt: skip
# What is searched for: psbridge's own list of a secret's traffic forms, and the XML escape of both quotes.
FORMS = secret_forms(SECRET) | {escape(SECRET, {'"': "&quot;", "'": "&apos;"})}


class Runs:
    """The processes of one CLI session against the endpoint, by name, and the recording written."""

    def __init__(self, recording: Path) -> None:
        self.recording = recording
        self.procs: dict[str, subprocess.CompletedProcess[str]] = {}

    def texts(self) -> dict[str, str]:
        found = {f"{name} {stream}": getattr(proc, stream) for name, proc in self.procs.items()
                 for stream in ("stdout", "stderr")}  # fmt: skip
        found["recording"] = self.recording.read_text("utf-8")
        return found

    def json(self, name: str, code: int = 0) -> Any:
        proc = self.procs[name]
        assert proc.returncode == code, proc.stderr[-2000:]
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "sitecustomize.py").write_text("import logging\n\nlogging.basicConfig(level=logging.DEBUG)\n")
    result = Runs(folder / "recording.yaml")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PSBRIDGE_")]:
            patch.delenv(name)
        path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
        with endpoint(http.Endpoints(DEMO).handle, credentials=(USER, SECRET)) as server:
            reach = cli_args(server.url)
            stranger = [a if a != USER else "someone-else" for a in reach]
            record = [*reach, "--record", str(result.recording)]
            commands = {  # name: (global options, command)
                "adsync version": (reach, ["adsync", "version"]),
                "adsync scheduler": (reach, ["adsync", "scheduler"]),
                "cloudsync status": (reach, ["cloudsync", "status"]),
                "exo mailbox list": (reach, [*EXO, "mailbox", "list"]),
                "exo mailbox get (unrecorded)": (reach, [*EXO, "mailbox", "get", "--identity", "nobody@example.com"]),
                "refused sign-in": (stranger, ["adsync", "version"]),
                "record": (record, ["adsync", "scheduler"]),
            }
            for name, (options, command) in commands.items():
                result.procs[name] = run_psbridge(*options, "-vv", "-o", "json", *command, timeout=120,
                                                  PSBRIDGE_PASSWORD=SECRET, PYTHONPATH=path)  # fmt: skip
    yield result


def test_the_runs_did_what_they_should(runs: Runs) -> None:
    """5 print the demo's answers as JSON and exit 0 (cloudsync status 1: a job is in quarantine, by design);
    the failing two exit 2 and 3 with one error line each."""
    assert runs.json("adsync version")["version"] == "2.5.190.0"
    assert runs.json("adsync scheduler")["next_sync_cycle_policy_type"] == "Delta"
    assert {job["code"] for job in runs.json("cloudsync status", code=1)} == {"Active", "Quarantine"}
    assert "adele@contoso.example" in [m["user_principal_name"] for m in runs.json("exo mailbox list")]
    assert runs.json("record")["next_sync_cycle_policy_type"] == "Delta"

    errors = {name: [line for line in runs.procs[name].stderr.splitlines() if line.startswith("psbridge: error:")]
              for name in ("exo mailbox get (unrecorded)", "refused sign-in")}  # fmt: skip
    assert runs.procs["exo mailbox get (unrecorded)"].returncode == 2  # a replay miss, as under --replay
    assert runs.procs["refused sign-in"].returncode == 3
    assert len(errors["exo mailbox get (unrecorded)"]) == 1 and "no recorded episode" in errors[
        "exo mailbox get (unrecorded)"][0]  # fmt: skip
    assert len(errors["refused sign-in"]) == 1 and "authentication" in errors["refused sign-in"][0]


def test_there_was_something_to_leak(runs: Runs) -> None:
    """Every process logged its traffic (pypsrp's SOAP envelopes) and psbridge's events; the recording
    holds the pool handshake and the scheduler read."""
    for name, proc in runs.procs.items():
        assert "DEBUG:pypsrp.wsman:Sending message" in proc.stderr, name
    for name in ("adsync version", "exo mailbox list", "record"):
        assert '"event": "psbridge.invoke"' in runs.procs[name].stderr, name
    assert "Connect-ExchangeOnline" in runs.procs["exo mailbox list"].stderr  # the certificate sign-in was sent
    recording = runs.recording.read_text("utf-8")
    assert "origin: recorded" in recording and "adsync/Get-Scheduler.ps1" in recording


def test_the_search_would_find_the_password_in_traffic() -> None:
    """The forms searched for include what the wire carries: the Basic header and XML-escaped text."""
    header = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    for prefix in ("", "x", "xy"):  # the three alignments of the password in a base64 stream
        encoded = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
        assert any(form in encoded for form in FORMS), prefix
    for carrier in (header, escape(SECRET), escape(SECRET, {'"': "&quot;"}), SECRET):
        assert any(form in carrier for form in FORMS), carrier


def test_no_text_holds_the_password_in_any_form(runs: Runs) -> None:
    """15 texts x every form of the password: 0 occurrences."""
    texts = runs.texts()
    leaks = [(where, form) for where, text in texts.items() for form in FORMS if form in text]

    assert len(texts) == 15 and len(runs.procs) == 7
    assert leaks == []
