"""`psbridge serve-replay RECORDINGS`: recordings served as a WinRM endpoint on a real socket.

Cron jobs, Ansible playbooks and CI then run against recordings with no Windows host:

    PSBRIDGE_REPLAY_PASSWORD=s3cret psbridge serve-replay recorded_sessions/demo --user ci &
    PSBRIDGE_PASSWORD=s3cret psbridge --host 127.0.0.1 --port N --auth basic --no-tls \\
        --encryption never --username ci adsync version

It prints `listening on URL` (after `ca file: PATH` with `--tls`) and runs until SIGINT or SIGTERM,
then exits 0. The password is read from PSBRIDGE_REPLAY_PASSWORD, never from a flag, and never written to
disk (see `psbridge.replay.ntlm`). `--tls` writes key.pem with mode 0600 (a new file moved into place: a
reused `--cert-dir` whose old key others could read gets a warning line); without `--cert-dir` the
certificate's directory is removed at exit. With `--auth ntlm`
clients authenticate with NTLM (or Negotiate) and, over plain HTTP, must encrypt their messages, as
with a Windows host's default `AllowUnencrypted=false`:

    PSBRIDGE_PASSWORD=s3cret psbridge --host 127.0.0.1 --port N --auth ntlm --no-tls --username ci adsync version
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import click

from psbridge.cli import terminal
from psbridge.cli.params import Host
from psbridge.errors import InputError


@click.command("serve-replay")
@click.argument("recordings", type=click.Path(exists=True))
@click.option(
    "--bind", type=Host(), default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless told)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--tls", is_flag=True, help="HTTPS with a generated self-signed certificate.")
@click.option("--cert-dir", type=click.Path(file_okay=False), help="Where --tls writes ca.pem and key.pem.")
@click.option(
    "--auth", type=click.Choice(["basic", "ntlm", "none"]), default="basic", show_default=True,
    help="ntlm: NTLM/Negotiate with WinRM message encryption over plain HTTP.",
)  # fmt: skip
@click.option("--user", default="replay", show_default=True, help="Auth user; password: PSBRIDGE_REPLAY_PASSWORD.")
@click.option("--fault", "faults", multiple=True, metavar="KIND[:RATE]", help="Inject a fault (repeatable).")
@click.option("--fault-file", type=click.Path(exists=True, dir_okay=False), help="YAML fault rules.")
@click.option("--fault-seed", type=int, help="Seed for fault rates [the fault file's, else a recording's, else 0].")
@click.option(
    "--latency-ms", type=click.IntRange(0, 60000), default=0, show_default=True,
    help="Added round-trip time per request, as on a WAN link.",
)  # fmt: skip
def serve_replay(**p: Any) -> None:
    """Serve recordings as a WSMan/PSRP endpoint over HTTP(S) until SIGINT/SIGTERM."""
    from psbridge.replay import http
    from psbridge.replay.faults import FaultInjector, Rule

    credentials = None
    if p["auth"] != "none":
        password = os.environ.get(http.PASSWORD_ENV)
        if not password:
            raise InputError(f"no password: set {http.PASSWORD_ENV} (passwords are never taken as a flag)")
        credentials = (p["user"], password)
    endpoints = http.Endpoints(p["recordings"])
    handle: Callable[[bytes], tuple[int, bytes]] = endpoints.handle
    injector = FaultInjector.configured(
        endpoints.cassettes, fault_file=p["fault_file"], flags=[Rule.parse(text) for text in p["faults"]],
        seed=p["fault_seed"],
    )  # fmt: skip
    if injector is not None:
        handle = injector.attach(handle, *endpoints.servers.values())
    with contextlib.ExitStack() as cleanup:
        context = None
        if p["tls"]:
            if p["cert_dir"] and (exposed := http.exposed_key(p["cert_dir"])):
                terminal.warning(exposed)
            # A directory of its own unless --cert-dir names one: removed at exit (its key is of no more use).
            cert_dir = p["cert_dir"] or cleanup.enter_context(tempfile.TemporaryDirectory(prefix="psbridge-replay-"))
            cert, key = http.make_certificate(cert_dir)
            context = http.tls_context(cert, key)
            click.echo(f"ca file: {cert}")
        _serve(p, handle, credentials, context)


def _serve(p: dict[str, Any], handle: Callable[[bytes], tuple[int, bytes]], credentials: Any, context: Any) -> None:
    from psbridge.options import is_loopback
    from psbridge.replay import http

    try:
        server = http.ReplayHTTPServer(
            handle, bind=p["bind"], port=p["port"], credentials=credentials, auth=p["auth"], tls=context,
            latency_s=p["latency_ms"] / 1000,
        )  # fmt: skip
    except OSError as exc:
        raise InputError(f"cannot listen on {p['bind']}:{p['port']}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an NTLM user its user file cannot hold
        raise InputError(str(exc)) from None
    if not is_loopback(p["bind"]):
        terminal.warning(f"serving recordings on {p['bind']}, not loopback: other machines can reach this endpoint")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="serve-replay", daemon=True)
    thread.start()
    click.echo(f"listening on {server.url}")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
