"""The psbridge command line: global connection options, then one command group per product.

    psbridge [--host H --port P --auth A --username U --no-tls --ca-file F ...]
             [--replay PATH | --record PATH [--record-mode MODE]] [--output json|table] [-v]
             adsync version [--min VERSION]

Exit codes (stable, documented in the README):
    0  success
    1  a check ran and the target falls short (e.g. the version is below the minimum)
    2  usage or bad input, including a malformed recording, a command missing from a recording, or
       a malformed version
    3  connection, authentication or timeout failure
    4  the remote command failed
   70  an internal error in psbridge (a bug: please report it with -v output)
  130  interrupted

Errors are one line on stderr; `-v` adds log events, `-vv` also debug events and tracebacks.
`--help` and `--version` load no network or crypto library: they are imported when a session opens.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from psbridge import __version__
from psbridge.errors import InputError, PsbridgeError

if TYPE_CHECKING:
    from psbridge.session import Session

EXIT_OK, EXIT_SHORT, EXIT_USAGE, EXIT_TRANSPORT, EXIT_REMOTE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 70, 130
PASSWORD_AUTHS = ("negotiate", "ntlm", "kerberos", "credssp", "basic")


@dataclasses.dataclass
class CliContext:
    """The global options, and the one Session every command of this run shares."""

    params: dict[str, Any]
    output: str
    verbose: int
    _session: Session | None = None

    def session(self) -> Session:
        if self._session is None:
            self._session = _open_session(self.params)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _open_session(p: dict[str, Any]) -> Session:
    from psbridge.session import Session

    if p["replay"]:
        options = _options(p, live=False) if p["host"] else _replay_endpoint(p)
        return Session.replay(p["replay"], mode="none", options=options, timeout=p["timeout"])
    options = _options(p, live=True)
    if p["record"]:
        scrub = _scrub_map(p["scrub"])
        return Session.replay(p["record"], mode=p["record_mode"], options=options, scrub=scrub, timeout=p["timeout"])
    return Session(options, timeout=p["timeout"])


def _replay_endpoint(p: dict[str, Any]) -> Any:
    """Replay without --host: the recordings of the endpoint a command group asked for, if not the default."""
    if p["configuration_name"] == "Microsoft.PowerShell":
        return None
    from psbridge.replay.transport import replay_options

    return replay_options(p["configuration_name"])


def _options(p: dict[str, Any], *, live: bool) -> Any:
    """ConnectionOptions from the global flags; for a live host, the password from the env or a prompt."""
    from psbridge.options import ConnectionOptions, password_from_env

    if not p["host"]:
        raise InputError("--host is required unless --replay is given")
    password = None
    if live and p["username"] and p["auth"] in PASSWORD_AUTHS:
        password = password_from_env()
        if password is None:
            if not sys.stdin.isatty():
                raise InputError("no password: set PSBRIDGE_PASSWORD (passwords are never taken as a flag)")
            from pydantic import SecretStr

            password = SecretStr(getpass.getpass(f"Password for {p['username']}@{p['host']}: "))
    cert_validation: bool | str = p["ca_file"] or not p["no_cert_validation"]
    if p["no_cert_validation"]:
        click.echo("psbridge: warning: TLS certificate validation is off", err=True)
    values: dict[str, Any] = {
        "host": p["host"],
        "port": p["port"],
        "tls": not p["no_tls"],
        "cert_validation": cert_validation,
        "auth": p["auth"],
        "username": p["username"],
        "password": password,
        "encryption": p["encryption"],
        "configuration_name": p["configuration_name"],
        "path": p.get("path"),
        "operation_timeout": p["operation_timeout"],
        "read_timeout": p["read_timeout"],
        "connection_timeout": p["connection_timeout"],
        "certificate_pem": p["cert_pem"],
        "certificate_key_pem": p["cert_key_pem"],
    }
    return ConnectionOptions.build(**{k: v for k, v in values.items() if v is not None})


def _scrub_map(pairs: Sequence[str]) -> Any:
    from psbridge.replay.cassette import ScrubMap

    scrub = ScrubMap()
    for pair in pairs:
        real, sep, placeholder = pair.partition("=")
        if not sep or not real or not placeholder:
            raise InputError(f"--scrub takes REAL=PLACEHOLDER, not {pair!r}")
        scrub.add(real, placeholder)
    return scrub


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="psbridge")
@click.option("--host", envvar="PSBRIDGE_HOST", help="Target host (FQDN for Kerberos). Env: PSBRIDGE_HOST.")
@click.option("--port", type=click.IntRange(1, 65535), help="WinRM port [5986 with TLS, else 5985].")
@click.option(
    "--auth",
    type=click.Choice(["negotiate", "ntlm", "kerberos", "credssp", "basic", "certificate"]),
    default="negotiate",
    show_default=True,
    envvar="PSBRIDGE_AUTH",
)
@click.option(
    "--username", envvar="PSBRIDGE_USERNAME", help="Env: PSBRIDGE_USERNAME. Password: PSBRIDGE_PASSWORD or a prompt."
)
@click.option("--no-tls", is_flag=True, help="Use HTTP (5985); messages are then encrypted by the auth protocol.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to validate the server cert.")
@click.option("--no-cert-validation", is_flag=True, help="Do not validate the server certificate (warns).")
@click.option("--encryption", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--configuration-name", default="Microsoft.PowerShell", show_default=True, help="Remoting endpoint.")
@click.option("--cert-pem", type=click.Path(exists=True, dir_okay=False), help="Client certificate (certificate auth).")
@click.option("--cert-key-pem", type=click.Path(exists=True, dir_okay=False), help="Client certificate key.")
@click.option("--operation-timeout", type=click.IntRange(1), default=20, show_default=True)
@click.option("--read-timeout", type=click.IntRange(2), default=30, show_default=True)
@click.option("--connection-timeout", type=click.IntRange(1), default=30, show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True, help="Deadline per call, seconds."
)
@click.option("--replay", type=click.Path(exists=True), help="Serve every call from recordings (file or directory).")
@click.option("--record", type=click.Path(dir_okay=False), help="Record the live session to this .yaml file.")
@click.option(
    "--record-mode",
    type=click.Choice(["once", "new_episodes", "rewrite"]),
    default="once",
    show_default=True,
    help="With --record: once = replay if the file exists; new_episodes = add what is missing; rewrite.",
)
@click.option("--scrub", multiple=True, metavar="REAL=PLACEHOLDER", help="Extra name to scrub from recordings.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-v", "--verbose", count=True, help="-v: log events; -vv: debug events and tracebacks.")
@click.pass_context
def cli(ctx: click.Context, /, **params: Any) -> None:
    """Drive Entra Connect Sync, Entra Cloud Sync and Exchange over PowerShell Remoting."""
    if params["replay"] and params["record"]:
        raise click.UsageError("--replay and --record exclude each other (use --record-mode new_episodes)")
    if params["record"]:
        # Checked before the live session runs, not when the recording is saved after it.
        parent = next((p for p in Path(params["record"]).absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise click.BadParameter(f"{parent} is a file, not a directory", param_hint="--record")
    from psbridge.logs import configure_cli

    configure_cli(params["verbose"])
    state = CliContext(params=params, output=params["output"], verbose=params["verbose"])
    ctx.obj = state
    ctx.call_on_close(state.close)


def _register() -> None:
    from psbridge.cli.adsync import adsync
    from psbridge.cli.cloudsync import cloudsync
    from psbridge.cli.exchange import exchange
    from psbridge.cli.exo import exo
    from psbridge.cli.exo_rollout import rollout
    from psbridge.cli.serve import serve_replay

    cli.add_command(adsync)
    cli.add_command(cloudsync)
    exo.add_command(rollout)
    cli.add_command(exo)
    cli.add_command(exchange)
    cli.add_command(serve_replay)


_register()


def _verbosity(args: Sequence[str]) -> int:
    count = 0
    for arg in args:
        if arg == "--verbose":
            count += 1
        elif len(arg) > 1 and arg[0] == "-" and set(arg[1:]) == {"v"}:
            count += len(arg) - 1
    return count


_MAX_ERROR = 2000


def _error(line: str) -> None:
    """One line on stderr; a value of tens of thousands of characters quoted in it is cut."""
    if len(line) > _MAX_ERROR:
        line = f"{line[: _MAX_ERROR - 200]} ... [{len(line) - _MAX_ERROR + 150} characters cut] ... {line[-150:]}"
    click.echo(line, err=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbosity(args)
    try:
        code = cli.main(args=args, prog_name="psbridge", standalone_mode=False)
        return int(code or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        _error(f"psbridge: error: {exc.format_message()}")
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("psbridge: interrupted", err=True)
        return EXIT_INTERRUPTED
    except PsbridgeError as exc:
        _error(f"psbridge: error: {exc}")
        if verbose >= 2:
            traceback.print_exc()
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, keep the traceback behind -vv
        _error(f"psbridge: internal error: {type(exc).__name__}: {exc}")
        if verbose >= 2 or os.environ.get("PSBRIDGE_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
