"""Bad input: at least 20 malformed inputs (47 here), each a one-line
error with exit code 2, no traceback and no partial write.

The inputs cover recordings, fault files, versions, CLI arguments, identities, journals and other
settings (environment variables, `--scrub`, output paths). Each runs `psbridge` in its own process, so
whatever the interpreter itself would print (a traceback, a warning) is on the stderr checked. Every
file a case gives or names lives under `tmp_path`, and that whole tree must be byte-for-byte the same
afterwards: no journal, report, recording or certificate directory was created or changed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Result
from helpers import DEMO
from loopback import run_psbridge
from rollout_scenario import RECORDING as ROLLOUT

from psbridge.exchange.journal import MAGIC, VERSION, Header
from psbridge.replay import http

_DEMO_DATA: dict[str, Any] = yaml.safe_load((DEMO / "adsync.yaml").read_text(encoding="utf-8"))
# A live host nothing listens on: a case that got as far as connecting would exit 3, not 2.
LIVE = ("--host", "127.0.0.1", "--port", "9", "--no-tls", "--encryption", "never", "--auth", "basic", "--username", "u")
ROLL = ("--replay", "{rollout}", "exo", "rollout", "--identities", "{tmp}/ids.txt")
IDS = {"ids.txt": "adele@contoso.example\nlee@contoso.example\n"}
SERVE = ("serve-replay", "{demo}", "--tls", "--cert-dir", "{tmp}/certs")  # certs/ must not appear


def recording(**changes: Any) -> str:
    """The demo's adsync recording with top-level keys changed (None: removed)."""
    data = {k: v for k, v in _DEMO_DATA.items() if changes.get(k, "") is not None}
    data.update({k: v for k, v in changes.items() if v is not None})
    return yaml.safe_dump(data, sort_keys=False)


def broken_clixml() -> str:
    data = copy.deepcopy(_DEMO_DATA)
    data["episodes"][0]["messages"][0]["clixml"] = '<Obj RefId="0"><MS><S N="Name">unclosed'
    return yaml.safe_dump(data, sort_keys=False)


def journal(header: Header, *, version: int = VERSION) -> str:
    """A journal for `header` with one batch begun under it (a header alone, for other settings, is taken over)."""
    record = {"kind": "header", "journal": MAGIC, "version": version, **dataclasses.asdict(header)}
    intent = {"kind": "intent", "batch": 1, "identities": ["adele@contoso.example"]}
    return json.dumps(record) + "\n" + json.dumps(intent) + "\n"


@dataclasses.dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    says: str  # part of the one error line: the input was refused for the right reason
    files: Mapping[str, str | bytes] = dataclasses.field(default_factory=dict)
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)


def case(id: str, *args: str, says: str, **kwargs: Any) -> Any:  # noqa: A002 - pytest's name
    return pytest.param(Case(args, says, **kwargs), id=id)


CASES = [
    # -- recordings ---------------------------------------------------------------------------------------
    case("recording-not-yaml", "--replay", "{tmp}/r.yaml", "adsync", "version", says="not valid YAML",
         files={"r.yaml": "format_version: 1\norigin: [unclosed\n  episodes: {\n"}),
    case("recording-not-utf8", "--replay", "{tmp}/r.yaml", "adsync", "version", says="not UTF-8",
         files={"r.yaml": b"\xff\xfeformat_version: 1\n"}),
    case("record-into-a-file", "--host", "127.0.0.1", "--record", "{tmp}/r.yaml/new.yaml", "adsync", "version",
         says="is a file, not a directory", files={"r.yaml": "not a directory\n"}),
    case("recording-empty-file", "--replay", "{tmp}/r.yaml", "adsync", "version", says="not a mapping",
         files={"r.yaml": ""}),
    case("recording-format-version-2", "--replay", "{tmp}/r.yaml", "adsync", "version", says="format_version 2",
         files={"r.yaml": recording(format_version=2)}),
    case("recording-unknown-origin", "--replay", "{tmp}/r.yaml", "adsync", "version", says="origin must be one of",
         files={"r.yaml": recording(origin="captured-by-hand")}),
    case("recording-without-episodes", "--replay", "{tmp}/r.yaml", "adsync", "version", says="episodes",
         files={"r.yaml": recording(episodes=None)}),
    case("recording-without-pool", "--replay", "{tmp}/r.yaml", "adsync", "version", says="pool",
         files={"r.yaml": recording(pool=None)}),
    case("recording-target-not-a-mapping", "--replay", "{tmp}/r.yaml", "adsync", "version",
         says="target.configuration_name", files={"r.yaml": recording(target="connect01")}),
    case("recording-bad-clixml", "--replay", "{tmp}/r.yaml", "adsync", "version", says="CLIXML does not parse",
         files={"r.yaml": broken_clixml()}),
    case("recordings-directory-without-yaml", "--replay", "{tmp}/recs", "adsync", "version", says="no recordings",
         files={"recs/notes.txt": "nothing recorded here\n"}),
    case("serve-replay-malformed-recording", "serve-replay", "{tmp}/r.yaml", says="origin must be one of",
         files={"r.yaml": recording(origin="captured-by-hand")}),
    # -- fault files and flags (serve-replay) ----------------------------------------------------------------
    case("fault-file-not-yaml", *SERVE, "--fault-file", "{tmp}/f.yaml", says="cannot read the fault file",
         files={"f.yaml": "faults: [ {fault: reset\n"}),
    case("fault-file-unknown-fault", *SERVE, "--fault-file", "{tmp}/f.yaml", says="unknown fault 'meteor'",
         files={"f.yaml": "faults:\n  - {fault: meteor}\n"}),
    case("fault-file-rate-above-1", *SERVE, "--fault-file", "{tmp}/f.yaml", says="rate must be a fraction",
         files={"f.yaml": "faults:\n  - {fault: reset, rate: 1.5}\n"}),
    case("fault-file-unknown-key", *SERVE, "--fault-file", "{tmp}/f.yaml", says="unknown keys when",
         files={"f.yaml": "faults:\n  - {fault: reset, when: always}\n"}),
    case("fault-file-seed-not-a-number", *SERVE, "--fault-file", "{tmp}/f.yaml", says="seed must be a whole number",
         files={"f.yaml": "seed: lucky\nfaults: []\n"}),
    case("fault-flag-bad-rate", *SERVE, "--fault", "reset:often", says="--fault takes KIND or KIND:RATE"),
    pytest.param(Case((*SERVE, "--fault-file", "{tmp}/f.yaml"), "cannot read the fault file",
                      {"f.yaml": b"faults:\n  - {fault: \xff}\n"}), id="fault-file-not-utf8"),
    case("serve-replay-bind-unavailable-address", "serve-replay", "{demo}", "--bind", "192.0.2.1",
         says="cannot listen on 192.0.2.1"),
    case("serve-replay-without-password", *SERVE, says=http.PASSWORD_ENV, env={http.PASSWORD_ENV: ""}),
    # -- versions -------------------------------------------------------------------------------------------
    case("version-min-2.x", "--replay", "{demo}", "adsync", "version", "--min", "2.x", says="not a version: '2.x'"),
    case("version-min-empty", "--replay", "{demo}", "adsync", "version", "--min", "", says="not a version: ''"),
    case("version-negative-part", "--replay", "{demo}", "adsync", "version", "--cloud-managed-min", "2.5.-1.0",
         says="not a version: '2.5.-1.0'"),
    # -- CLI arguments --------------------------------------------------------------------------------------
    case("unknown-option", "--hots", "127.0.0.1", "adsync", "version", says="No such option '--hots'"),
    case("unknown-command", "--replay", "{demo}", "adsync", "frobnicate", says="No such command 'frobnicate'"),
    case("bad-choice", "--replay", "{demo}", "--auth", "kerbros", "adsync", "version", says="'kerbros' is not one of"),
    case("port-out-of-range", *LIVE[:2], "--port", "70000", "adsync", "version", says="70000 is not in the range"),
    case("missing-required-option", "--replay", "{demo}", "exo", "mailbox", "get", says="Missing option '--identity'"),
    case("missing-argument", "serve-replay", says="Missing argument 'RECORDINGS'"),
    case("timeout-zero", "--replay", "{demo}", "--timeout", "0", "adsync", "version", says="'--timeout'"),
    case("rollout-batch-size-zero", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", "--batch-size", "0",
         says="'--batch-size'", files=IDS),
    # -- identities -----------------------------------------------------------------------------------------
    case("identity-empty", "--replay", "{demo}", "exo", "mailbox", "get", "--identity", "",
         says="an identity (UPN, GUID or email address) is required"),
    case("identity-whitespace", "--replay", "{demo}", "exo", "user", "get", "--identity", "   ",
         says="an identity (UPN, GUID or email address) is required"),
    case("connector-id-not-a-guid", "--replay", "{demo}", "adsync", "run-history", "--connector-id", "connector-1",
         says="'connector-1' is not a GUID"),
    case("tenant-id-not-a-guid", "--replay", "{demo}", "cloudsync", "set-tenant-id", "contoso",
         says="'contoso' is not a GUID"),
    case("identities-file-not-utf8", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", says="not UTF-8",
         files={"ids.txt": b"\xff\xfea\x00d\x00e\x00l\x00e\x00\n\x00"}),
    # -- journals -------------------------------------------------------------------------------------------
    case("journal-for-other-settings", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", says="was written for",
         files={**IDS, "j.jsonl": journal(Header("exo-jump02.contoso.example", None, True, None, True))}),
    case("journal-of-another-version", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", says="of version 1",
         files={**IDS, "j.jsonl": journal(Header("exo-jump02.contoso.example", None, True, None, True), version=9)}),
    case("journal-not-json-lines", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", says="line 1 is malformed",
         files={**IDS, "j.jsonl": "identity,outcome\nadele@contoso.example,Changed\n"}),
    case("journal-one-line-without-newline", *ROLL, "--journal", "{tmp}/ids.txt", "--dry-run",
         says="line 1 is malformed", files={"ids.txt": "adele@contoso.example"}),  # the identities file, by mistake
    case("journal-is-a-directory", *ROLL, "--journal", "{tmp}/journals", "--dry-run", says="is a directory",
         files={**IDS, "journals/keep.txt": "\n"}),
    # -- other settings -------------------------------------------------------------------------------------
    case("env-auth-unknown", "--replay", "{demo}", "adsync", "version", says="'bogus' is not one of",
         env={"PSBRIDGE_AUTH": "bogus"}),
    case("env-exo-organization-not-onmicrosoft", "--replay", "{demo}", "exo", "--managed-identity", "mailbox", "list",
         says="onmicrosoft", env={"PSBRIDGE_EXO_ORGANIZATION": "contoso.com"}),
    case("scrub-without-placeholder", *LIVE, "--record", "{tmp}/rec.yaml", "--scrub", "CONNECT01", "adsync",
         "version", says="--scrub takes REAL=PLACEHOLDER"),
    case("ca-file-missing", *LIVE[:2], "--ca-file", "{tmp}/ca.pem", "adsync", "version", says="does not exist"),
    case("rollout-csv-in-missing-directory", *ROLL, "--journal", "{tmp}/j.jsonl", "--dry-run", "--csv",
         "{tmp}/reports/out.csv", says="not a writable directory", files=IDS),
]  # fmt: skip


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under `root`."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_there_are_at_least_20_bad_inputs() -> None:
    expected_to_pass = [c for c in CASES if not c.marks]
    assert len(expected_to_pass) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", CASES)
@pytest.mark.subprocess
def test_bad_input_is_one_line_exit_2_no_traceback_no_partial_write(bad: Case, tmp_path: Path) -> None:
    for name, content in bad.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = snapshot(tmp_path)
    args = [a.format(tmp=tmp_path, demo=DEMO, rollout=ROLLOUT) for a in bad.args]

    proc = run_psbridge(*args, timeout=60, **{http.PASSWORD_ENV: "replay-pw-1", **bad.env})

    line = Result(proc.returncode, proc.stdout, proc.stderr).one_line_error(2)
    assert bad.says in line
    assert snapshot(tmp_path) == before
