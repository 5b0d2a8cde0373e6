"""Secrets: every secret the CLI takes stays out of every place a secret could surface.

The secrets, each distinctive and with characters that XML, JSON and URLs escape:
- WINRM, the WinRM password (PSBRIDGE_PASSWORD), used by NTLM against the loopback NTLM endpoint (the
  client computes its responses from it) and by Basic on loopback (in the Authorization header);
- TARGET, a config target's password, from the variable its `password_env` names;
- GRAPH, the Graph app's client secret (PSBRIDGE_GRAPH_CLIENT_SECRET), posted to a fake sign-in service;
- REPLAY, serve-replay's own password (PSBRIDGE_REPLAY_PASSWORD), for its NTLM users.
No certificate password is taken by the WinRM side (`--cert-key-pem` has no passphrase; Exchange Online
signs in with a certificate in the jump host's store); the Graph certificate password goes the way of the
client secret (the same `secrets` list), tested in tests/graph/test_graph_auth.py.

Servers that echo: the "echo" recordings answer `adsync scheduler` with an error record that quotes the
password plain, URL-encoded and JSON-escaped (as a host quoting a failed logon might); the fake sign-in
service quotes the client secret it was sent, URL-encoded, in its refusal, and in an extra field of its
token answer; the fake Graph quotes it in its error message. So every redactor has something to remove:
pypsrp's DEBUG payload log holds the echo (CLIXML in base64), msal's DEBUG log the token answer, the
errors' messages the quotes, and a recording the echoed error record.

Where it is searched for (each `psbridge` process runs with `-vv -o json` and the standard library's
logging at DEBUG through a `sitecustomize`, as an operator's environment might, so pypsrp, msal and urllib3
log their traffic): stdout, stderr (structlog events, payload logs, error lines, -vv tracebacks), every
recording written with `--record`, every file left in the process's temp dir (TMPDIR), the process's own
command line (/proc/self/cmdline, written out by the `sitecustomize`), and the serve-replay process's
output, command line and temp dir after SIGKILL. The failing commands also run in-process, and the
exception each raises is searched with everything reachable from it: its `repr`, its attributes, its
`__context__` and `__cause__` chains and their attributes, recursively (a requests object holding a Basic
header would be found; tracebacks' frames are not followed, nor pydantic's SecretStr, which exists to
hold a secret without showing it).

Every form is searched for, computed here independently of psbridge's own list: plain, XML- and
HTML-escaped, JSON-escaped, URL-encoded (quote, quote_plus), base64 of the secret alone, of `user:secret`,
and of the secret and its XML-escaped forms at each of the three byte alignments, in UTF-8 and in Latin-1
(requests encodes a Basic header's `user:password` as Latin-1).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus
from xml.sax.saxutils import escape

import pytest
from helpers import DEMO, cassette
from loopback import USER, endpoint, port_of, reap, running, send_json

from psbridge import PsbridgeError
from psbridge.replay import http

pytestmark = pytest.mark.subprocess  # the module's runs are psbridge processes

WINRM = "Wq7&<winrm-Secret>'\"Kz9/+ é"
TARGET = "Tg4&<target-Secret>'\"Lm2/+"
GRAPH = "Gc5~<graph-Secret>'\"Nq8/+ ü"
REPLAY = "Rp3&<replay-Secret>'\"Vw6/+"
SECRETS = {"WINRM": WINRM, "TARGET": TARGET, "GRAPH": GRAPH, "REPLAY": REPLAY}
TENANT, CLIENT_ID = "contoso.example", "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"


def forms(secret: str) -> set[str]:
    """Every form of `secret` searched for (written here, not taken from psbridge)."""
    escaped = [escape(secret), escape(secret, {'"': "&quot;", "'": "&apos;"}), html.escape(secret)]
    found = {secret, *escaped, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    found |= {quote(secret), quote(secret, safe=""), quote_plus(secret)}
    found |= {base64.b64encode(text.encode()).decode() for text in (secret, f"{USER}:{secret}")}
    for text in (secret, *escaped):
        for raw in {text.encode(), text.encode("latin-1", "replace")}:  # Basic headers are Latin-1 (requests)
            for prefix in (b"", b"x", b"xy"):  # the secret starting at each byte alignment of a base64 stream
                encoded = base64.b64encode(prefix + raw).decode()
                start, end = -(-len(prefix) * 8 // 6), (len(prefix) + len(raw)) * 8 // 6
                found.add(encoded[start:end])
    return found


FORMS = {name: forms(secret) for name, secret in SECRETS.items()}


def leaks(text: str) -> list[str]:
    return [f"{name}: {form!r}" for name, found in FORMS.items() for form in found if form in text]


def test_the_forms_find_the_secret_where_traffic_carries_it() -> None:
    """The search is not empty-handed: each carrier of the secret holds one of its forms."""
    carriers = [
        base64.b64encode(f"{USER}:{WINRM}".encode("latin-1")).decode(),  # a Basic header, as requests sends it
        base64.b64encode(f"<S>{escape(WINRM)}</S>".encode()).decode(),  # CLIXML inside a PSRP message
        f"client_secret={quote_plus(GRAPH)}&scope=x",  # a token request
        json.dumps({"message": GRAPH}),
        *(base64.b64encode(p + WINRM.encode() + b"z").decode() for p in (b"", b"a", b"ab")),
    ]
    for carrier in carriers:
        assert leaks(carrier), carrier


# -- the servers ---------------------------------------------------------------------------------------------


def echo_recordings(folder: Path, secret: str) -> Path:
    """Recordings whose `adsync scheduler` fails with an error record quoting `secret` three ways."""
    message = f"Logon failure for {USER}: {secret} (as sent: {quote_plus(secret)}; {json.dumps(secret)})"
    folder.mkdir()
    spec = {"script": "adsync/Get-Scheduler.ps1", "terminating_error": {
        "message": message, "fully_qualified_error_id": "LogonFailure", "category": "AuthenticationError"}}  # fmt: skip
    cassette([spec]).save(folder / "echo.yaml")
    return folder


class FakeMicrosoft(BaseHTTPRequestHandler):
    """The sign-in service and Graph over HTTPS on loopback. Tenant `refuse` is refused with the client
    secret quoted URL-encoded; otherwise a token comes back with the secret in an extra field, and every
    Graph request fails with a message quoting it."""

    server: Any
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        base = f"https://127.0.0.1:{self.server.server_address[1]}"
        if self.path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = self.path.split("/")[1]
            send_json(self, 200, {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{base}/{tenant}/v2.0",
            })  # fmt: skip
        else:
            message = f"Invalid filter clause near '{quote(self.server.seen)}'"
            send_json(self, 400, {"error": {"code": "BadRequest", "message": message}})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        sent = parse_qs(body).get("client_secret", [""])[0]
        self.server.seen = sent
        if self.path.startswith("/refuse/"):
            description = f"AADSTS7000215: Invalid client secret provided: {quote_plus(sent)}"
            send_json(self, 401, {"error": "invalid_client", "error_description": description})
        else:
            send_json(self, 200, {"access_token": "fake-access-token-1", "token_type": "Bearer", "expires_in": 3600,
                             "ext_echo": sent})  # fmt: skip

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextlib.contextmanager
def fake_microsoft(cert_dir: Path) -> Iterator[str]:
    context = http.tls_context(*http.make_certificate(cert_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMicrosoft)
    server.seen = ""  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with running(server):
        yield f"https://127.0.0.1:{server.server_address[1]}"


def ntlm_endpoint(path: Path, password: str) -> contextlib.AbstractContextManager[http.ReplayHTTPServer]:
    @contextlib.contextmanager
    def serve() -> Iterator[http.ReplayHTTPServer]:
        server = http.ReplayHTTPServer(http.Endpoints(path).handle, credentials=(USER, password), auth="ntlm")
        with running(server):
            yield server

    return serve()


# -- the runs ------------------------------------------------------------------------------------------------

SITECUSTOMIZE = """\
import logging, os
logging.basicConfig(level=logging.DEBUG)
_folder = os.environ.get("SECRETS_TEST_CMDLINES")
if _folder:
    with open("/proc/self/cmdline", "rb") as _cmdline:
        _data = _cmdline.read()
    with open(os.path.join(_folder, str(os.getpid())), "wb") as _out:
        _out.write(_data)
if os.environ.get("SECRETS_TEST_AUTHORITY"):
    # msal asks login.microsoftonline.com about hosts it does not know, unless told not to (its documented
    # instance_discovery=False): the fake sign-in service is one it cannot know.
    import msal
    _init = msal.ConfidentialClientApplication.__init__
    def _no_discovery(self, *args, **kwargs):
        _init(self, *args, **{**kwargs, "instance_discovery": False})
    msal.ConfidentialClientApplication.__init__ = _no_discovery
"""


class Runs:
    """What the runs left: texts by name, exceptions raised in-process, exit codes."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.codes: dict[str, int] = {}
        self.errors: dict[str, BaseException] = {}


def winrm(url: str, auth: str) -> list[str]:
    extra = ["--encryption", "never"] if auth == "basic" else []
    return ["--host", "127.0.0.1", "--port", str(port_of(url)), "--auth", auth, "--no-tls", "--username", USER,
            *extra]  # fmt: skip


def stranger(args: list[str]) -> list[str]:
    """The same options for a user the endpoint does not know: the Basic header still carries the password."""
    return [a if a != USER else "someone-else" for a in args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "site").mkdir()
    (folder / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    cmdlines, temp = folder / "cmdlines", folder / "tmp"
    cmdlines.mkdir()
    temp.mkdir()
    config = folder / "psbridge.toml"
    result = Runs()
    with contextlib.ExitStack() as stack:
        demo = stack.enter_context(ntlm_endpoint(DEMO, WINRM))
        echo = stack.enter_context(ntlm_endpoint(echo_recordings(folder / "echo-winrm", WINRM), WINRM))
        echo_target = stack.enter_context(ntlm_endpoint(echo_recordings(folder / "echo-target", TARGET), TARGET))
        echo_basic = stack.enter_context(
            endpoint(http.Endpoints(folder / "echo-winrm").handle, credentials=(USER, WINRM))
        )
        microsoft = stack.enter_context(fake_microsoft(folder / "ca"))
        config.write_text(
            f'[targets.connect]\nhost = "127.0.0.1"\nport = {port_of(echo_target.url)}\nauth = "ntlm"\n'
            f'tls = false\nusername = "{USER}"\npassword_env = "TARGET_PW"\n'
        )
        config.chmod(0o600)
        graph = ["cloudsync", "jobs", "--via", "graph"]
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "ntlm adsync version": ([*winrm(demo.url, "ntlm"), "adsync", "version"], {}),
            "ntlm record": ([*winrm(demo.url, "ntlm"), "--record", str(folder / "ntlm.yaml"), "adsync", "scheduler"],
                            {}),
            "ntlm echo": ([*winrm(echo.url, "ntlm"), "adsync", "scheduler"], {}),
            "ntlm echo record": (
                [*winrm(echo.url, "ntlm"), "--record", str(folder / "echo.yaml"), "adsync", "scheduler"], {}),
            "basic echo": ([*winrm(echo_basic.url, "basic"), "adsync", "scheduler"], {}),
            "basic refused": ([*stranger(winrm(echo_basic.url, "basic")), "adsync", "scheduler"], {}),
            "target echo": (["--config", str(config), "--target", "connect", "adsync", "scheduler"],
                            {"TARGET_PW": TARGET}),
            "graph refused": (graph, {"PSBRIDGE_GRAPH_TENANT_ID": "refuse"}),
            "graph echo": (graph, {}),
            "graph record": (["--record", str(folder / "graph.yaml"), *graph], {}),
        }  # fmt: skip
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PSBRIDGE_")},
            "PSBRIDGE_PASSWORD": WINRM, "PSBRIDGE_GRAPH_CLIENT_SECRET": GRAPH, "PSBRIDGE_GRAPH_TENANT_ID": TENANT,
            "PSBRIDGE_GRAPH_CLIENT_ID": CLIENT_ID, "PSBRIDGE_GRAPH_AUTHORITY_HOST": microsoft,
            "PSBRIDGE_GRAPH_URL": microsoft, "REQUESTS_CA_BUNDLE": str(folder / "ca" / "ca.pem"),
            "XDG_CONFIG_HOME": str(folder / "no-config"),
        }  # fmt: skip
        site = os.pathsep.join([str(folder / "site"), os.environ.get("PYTHONPATH", "")])
        child = {**environment, "PYTHONPATH": site, "SECRETS_TEST_CMDLINES": str(cmdlines),
                 "SECRETS_TEST_AUTHORITY": "1", "TMPDIR": str(temp)}  # fmt: skip
        for name, (args, env) in commands.items():
            proc = subprocess.run(
                [sys.executable, "-m", "psbridge.cli.main", "-vv", "-o", "json", *args],
                capture_output=True, text=True, timeout=120, env={**child, **env},
            )  # fmt: skip
            result.codes[name] = proc.returncode
            result.texts[f"{name}: stdout"] = proc.stdout
            result.texts[f"{name}: stderr"] = proc.stderr
        result.texts |= serve_replay(folder, child)
        for file in (folder / "ntlm.yaml", folder / "echo.yaml", folder / "graph.yaml"):
            result.texts[f"recording {file.name}"] = file.read_text("utf-8") if file.exists() else ""
        result.texts |= {f"temp file {p.name}": p.read_bytes().decode("utf-8", "replace")
                         for p in temp.rglob("*") if p.is_file()}  # fmt: skip
        result.texts |= {f"command line of {p.name}": p.read_bytes().replace(b"\0", b" ").decode()
                         for p in cmdlines.iterdir()}  # fmt: skip
        result.errors = in_process(commands, environment, folder)
    yield result


def serve_replay(folder: Path, env: dict[str, str]) -> dict[str, str]:
    """`serve-replay --auth ntlm` with REPLAY, one client run against it, then SIGKILL."""
    temp = folder / "serve-tmp"
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "psbridge.cli.main", "-vv", "serve-replay", str(DEMO), "--auth", "ntlm", "--user", USER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env, http.PASSWORD_ENV: REPLAY, "TMPDIR": str(temp)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        listening = proc.stdout.readline()
        url = listening.strip().removeprefix("listening on ")
        client = subprocess.run(
            [sys.executable, "-m", "psbridge.cli.main", "-vv", "-o", "json", *winrm(url, "ntlm"), "adsync", "version"],
            capture_output=True, text=True, timeout=120, env={**env, "PSBRIDGE_PASSWORD": REPLAY},
        )  # fmt: skip
        assert client.returncode == 0, client.stderr[-2000:]
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
    finally:
        reap(proc)
    left = {f"serve temp file {p}": p.read_bytes().decode("utf-8", "replace") for p in temp.rglob("*") if p.is_file()}
    return {"serve-replay: stdout": listening + out, "serve-replay: stderr": err,
            "serve-replay client: stdout": client.stdout, "serve-replay client: stderr": client.stderr,
            "serve-replay temp dir": " ".join(p.name for p in temp.rglob("*")), **left}  # fmt: skip


def in_process(
    commands: dict[str, tuple[list[str], dict[str, str]]], environment: dict[str, str], folder: Path
) -> dict[str, BaseException]:
    """The failing commands again, in this process: the exception each raises (not printed, not redacted by the
    CLI's error line). The Graph ones tell msal not to look the fake host up, as the `sitecustomize` does."""
    import msal

    from psbridge.cli.main import cli

    msal_init = msal.ConfidentialClientApplication.__init__

    def no_discovery(self: Any, *args: Any, **kwargs: Any) -> None:  # as in the sitecustomize
        msal_init(self, *args, **{**kwargs, "instance_discovery": False})

    raised: dict[str, BaseException] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PSBRIDGE_")]:
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setattr(msal.ConfidentialClientApplication, "__init__", no_discovery)
        for name in ("ntlm echo", "basic echo", "basic refused", "target echo", "graph refused", "graph echo"):
            args, env = commands[name]
            with patch.context() as extra:
                for key, value in env.items():
                    extra.setenv(key, value)
                try:
                    cli.main(args=["-o", "json", *args], prog_name="psbridge", standalone_mode=False)
                except PsbridgeError as exc:
                    raised[name] = exc
    return raised


# -- what the runs did ---------------------------------------------------------------------------------------


def test_the_runs_did_what_they_should(runs: Runs) -> None:
    """Each secret was used: NTLM signed in with WINRM, REPLAY and TARGET (the echoes needed a session), Basic with
    WINRM, the fake sign-in service saw GRAPH and issued a token (Graph then failed)."""
    assert runs.codes == {
        "ntlm adsync version": 0, "ntlm record": 0, "ntlm echo": 4, "ntlm echo record": runs.codes["ntlm echo record"],
        "basic echo": 4, "basic refused": 3, "target echo": 4, "graph refused": 3, "graph echo": 4,
        "graph record": runs.codes["graph record"],
    }  # fmt: skip
    # The echo fails; a recording of it is refused (exit 2: a known secret would be in it) or never made.
    assert runs.codes["ntlm echo record"] in (2, 4) and runs.codes["graph record"] in (2, 4)
    assert json.loads(runs.texts["ntlm adsync version: stdout"])["version"] == "2.5.190.0"
    assert json.loads(runs.texts["serve-replay client: stdout"])["version"] == "2.5.190.0"
    for name in ("ntlm echo", "basic echo", "target echo"):
        assert "Logon failure for ci: <secret>" in runs.texts[f"{name}: stderr"], name
    assert "invalid_client" in runs.texts["graph refused: stderr"]
    assert "HTTP 400 BadRequest" in runs.texts["graph echo: stderr"]
    assert set(runs.errors) == {
        "ntlm echo",
        "basic echo",
        "basic refused",
        "target echo",
        "graph refused",
        "graph echo",
    }


def test_there_was_something_to_leak(runs: Runs) -> None:
    """The logs held traffic (pypsrp's messages, msal's token event), and the recording the pool handshake."""
    assert "DEBUG:pypsrp.wsman:Received message" in runs.texts["ntlm echo: stderr"]
    assert "DEBUG:msal.token_cache:event=" in runs.texts["graph echo: stderr"]
    assert '"event": "psbridge.invoke"' in runs.texts["ntlm adsync version: stderr"]
    assert "origin: recorded" in runs.texts["recording ntlm.yaml"]
    assert any(name.startswith("command line of") for name in runs.texts)
    assert all("psbridge.cli.main" in text for name, text in runs.texts.items() if name.startswith("command line"))


def test_no_output_recording_temp_file_or_command_line_holds_a_secret(runs: Runs) -> None:
    found = {name: leaks(text) for name, text in runs.texts.items()}
    assert {name: where for name, where in found.items() if where} == {}
    assert runs.texts["serve-replay temp dir"] == ""  # nothing at all was left after SIGKILL


def reachable(root: object, limit: int = 50_000) -> Iterator[tuple[str, str]]:
    """(path, repr) of `root` and of everything reachable from it through attributes, containers and
    exception chains; tracebacks, modules, classes, functions and SecretStr are not followed."""
    from pydantic import SecretStr

    seen: set[int] = set()
    stack: list[tuple[str, object]] = [("error", root)]
    skip = (type(sys), type, type(reachable), type(len), SecretStr, type(sys._getframe()), ssl.SSLContext)
    while stack and len(seen) < limit:
        path, value = stack.pop()
        if id(value) in seen or value is None or isinstance(value, skip) or path.endswith(".__traceback__"):
            continue
        seen.add(id(value))
        try:
            yield path, repr(value)
        except Exception as exc:  # a repr that fails shows nothing
            yield path, f"<repr failed: {type(exc).__name__}>"
        if isinstance(value, str | bytes | int | float | bool):
            if isinstance(value, bytes):
                yield path, value.decode("utf-8", "replace")
            continue
        if isinstance(value, BaseException):
            stack += [(f"{path}.__context__", value.__context__), (f"{path}.__cause__", value.__cause__),
                      (f"{path}.args", value.args)]  # fmt: skip
        if isinstance(value, dict):
            stack += [(f"{path}[{k!r}]", v) for k, v in value.items()] + [(f"{path} key", k) for k in value]
        elif isinstance(value, list | tuple | set | frozenset):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict):
            stack += [(f"{path}.{k}", v) for k, v in attributes.items()]
        for slot in getattr(type(value), "__slots__", ()):
            if isinstance(slot, str) and hasattr(value, slot):
                stack.append((f"{path}.{slot}", getattr(value, slot)))


def test_no_exception_or_anything_it_keeps_holds_a_secret(runs: Runs) -> None:
    """Message, attributes, __context__/__cause__ chains (e.g. a requests object with its headers)."""
    found = {}
    for name, exc in runs.errors.items():
        where = [f"{path}: {leak}" for path, text in reachable(exc) for leak in leaks(text)]
        if where:
            found[name] = where[:5]
    assert found == {}
    echoed = {name: str(exc) for name, exc in runs.errors.items() if name != "basic refused"}
    assert all("<secret>" in text for text in echoed.values()), echoed
