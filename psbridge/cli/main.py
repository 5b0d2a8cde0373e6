"""The psbridge command line: global connection options, then one command group per product.

    psbridge [--host H --port P --auth A --username U --no-tls --ca-file F ...]
             [--config FILE] [--target NAME]
             [--replay PATH | --record PATH [--record-mode MODE]] [--output table|json|nagios|prometheus]
             [--textfile PATH] [-v] [--log-format auto|text|json]
             adsync version [--min VERSION]

`--target NAME` takes the connection options from a target of the config file (`psbridge config
path`); options given explicitly on the command line or in the environment win over the target's.
Without `--host` or `--target`, a command group uses the target of its role when the config has one
(adsync: connect, cloudsync: cloudsync-agent, exo: exo, exchange: exchange, or exo with
--via-jump-host); under `--replay` only when the config file is named with --config or PSBRIDGE_CONFIG.

Exit codes (stable, documented in the README):
    0  success
    1  a check ran and the target falls short (e.g. the version is below the minimum)
    2  usage or bad input, including a malformed recording, a command missing from a recording, or
       a malformed version
    3  connection, authentication or timeout failure
    4  the remote command failed
   70  an internal error in psbridge (a bug: please report it with -v output)
   74  a local file (a journal, a report) or stdout could not be written: a full disk, an I/O error
  130  interrupted
  141  stdout's reader went away (a closed pipe: `| head`); nothing more is printed
  143  terminated by SIGTERM (as cron, systemd and Ansible stop a job that runs too long), handled as Ctrl+C

Errors are one line on stderr; `-v` adds log events, `-vv` also debug events and tracebacks. Everything on
stderr is written by `psbridge.cli.terminal`: with `--log-format json` (env PSBRIDGE_LOG_FORMAT), or by default
when stderr is not a terminal, every line is one JSON object (`psbridge.error` with `message` and `exit_code`,
`psbridge.warning`, `psbridge.interrupted`, progress and log events); at a terminal, or with `text`, the
familiar `psbridge: error: ...` lines, a live progress bar and log lines above it. A repeated warning is
written once, and counted at the end.
`--help` and `--version` load no network or crypto library, no pydantic, structlog or product module:
they are imported when a command runs. Exit codes are defined once, in `psbridge.errors.ExitCode`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from psbridge import __version__
from psbridge.cli import terminal
from psbridge.cli.group import RootGroup
from psbridge.cli.params import MAX_SECONDS, Host, Int32, Seconds, install_text_check
from psbridge.errors import ExitCode, InputError, PsbridgeError

if TYPE_CHECKING:
    from psbridge.config import Config, Target
    from psbridge.session import Session
    from psbridge.targets import Targets

# The role whose target a command group uses when neither --host nor --target is given.
GROUP_ROLES = {"adsync": "connect", "cloudsync": "cloudsync-agent", "exo": "exo", "exchange": "exchange"}
# Global options -> the ConnectionOptions field each sets (no_tls, ca_file and no_cert_validation: see _flag_values).
_FLAG_FIELDS = {
    "host": "host", "port": "port", "auth": "auth", "username": "username", "encryption": "encryption",
    "configuration_name": "configuration_name", "path": "path", "operation_timeout": "operation_timeout",
    "read_timeout": "read_timeout", "connection_timeout": "connection_timeout", "cert_pem": "certificate_pem",
    "cert_key_pem": "certificate_key_pem", "insecure_cleartext_basic": "insecure_cleartext_basic",
}  # fmt: skip


@dataclasses.dataclass
class CliContext:
    """The global options, and the run's one `Targets`: the factory of every session and Graph client.

    `explicit` names the global options given on the command line or in the environment: with a
    target, only those override its settings. `group` is the command group invoked. `session()` is the
    command group's own session (to --host, or to the target of --target or of the group's role).
    """

    params: dict[str, Any]
    output: str
    verbose: int
    explicit: frozenset[str] = frozenset()
    group: str | None = None
    _session: Session | None = None
    _config: Config | None = None
    _targets: Targets | None = None

    def session(self) -> Session:
        if self._session is None:
            p, targets, target = self.params, self.targets(), self.target()
            if target is None:
                options = _replay_endpoint(p) if p["replay"] and not p["host"] else _options(p, live=not p["replay"])
                name, timeout = GROUP_ROLES.get(self.group or "", "session"), p["timeout"]
            else:
                options = targets.options(target.name, self._overrides(target))
                _warn_if_unvalidated(options.cert_validation)
                name = target.name
                timeout = p["timeout"] if "timeout" in self.explicit else target.timeout or p["timeout"]
            self._session = targets.adopt(name, targets.connect(options, name=name, timeout=timeout))
        return self._session

    def config(self) -> Config:
        """The config file, read once; its warnings (permissions) go to stderr, unless replaying: a
        replay sends no password anywhere, whoever may change the file."""
        if self._config is None:
            from psbridge.config import load_config

            self._config = load_config(self.params["config"])
            for warning in () if self.params["replay"] else self._config.warnings:
                terminal.warning(warning)
        return self._config

    def targets(self) -> Targets:
        """The run's factory of sessions and Graph clients, live, replayed or recorded as the global options
        say; everything it opened is closed (and recorded) when the run ends."""
        if self._targets is None:
            from psbridge.targets import Targets

            p = self.params
            self._targets = Targets(
                self.config(), replay=p["replay"], record=p["record"], record_mode=p["record_mode"],
                scrub=scrub_map(p["scrub"]) if p["record"] else None,
                timeout=p["timeout"] if "timeout" in self.explicit else None,
            )  # fmt: skip
        return self._targets

    def target(self) -> Target | None:
        """The target this run's session is for: --target, else the command group's role (see the module doc)."""
        if self.params["target"]:
            return self.config().target(self.params["target"])
        jump_host = self.group == "exchange" and _group_option("via_jump_host")
        role = "exo" if jump_host else GROUP_ROLES.get(self.group or "")
        if role is None or self.params["host"]:
            return None
        config = self.own_config()
        return config.find(role) if config is not None else None

    def own_config(self) -> Config | None:
        """The config file for defaults nobody named; None when replaying without one named: a replay of
        the demo is not changed by your own config file."""
        if self.params["replay"] and not (self.params["config"] or os.environ.get("PSBRIDGE_CONFIG")):
            return None
        return self.config()

    def close(self) -> None:
        if self._targets is not None:
            self._targets.close()

    def _overrides(self, target: Target) -> dict[str, Any]:
        """The explicit global options, and what the exchange group's own options say about its endpoint."""
        values = _flag_values(self.params, self.explicit)
        if self.group != "exchange" or _group_option("via_jump_host"):
            return values
        if target.via is not None:
            raise InputError(
                f"target {target.name!r} reaches {target.host} through jump host target {target.via!r}: run "
                f"psbridge --target {target.via} exchange --via-jump-host {target.host} ..."
            )
        if _group_option("https"):
            values["tls"] = True
            values.setdefault("port", 443)
        return values


def _group_option(name: str) -> Any:
    """An option of the running command group (e.g. `exchange --via-jump-host`); None outside one."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None and ctx.parent.parent is not None:
        ctx = ctx.parent
    return ctx.params.get(name) if ctx is not None and ctx.parent is not None else None


def _replay_endpoint(p: dict[str, Any]) -> Any:
    """Replay without --host: the recordings of the endpoint a command group asked for, if not the default."""
    if p["configuration_name"] == "Microsoft.PowerShell":
        return None
    from psbridge.replay.transport import replay_options

    return replay_options(p["configuration_name"])


def _options(p: dict[str, Any], *, live: bool) -> Any:
    """ConnectionOptions from the global flags; for a live host, the password from the env or a prompt."""
    from psbridge.config import needs_password, resolve_password
    from psbridge.options import ConnectionOptions

    if not p["host"]:
        raise InputError(
            "--host is required unless --replay is given (or --target NAME, or a target for this command's "
            "role in the config file: see psbridge config path)"
        )
    values = _flag_values(p, p.keys())
    if live and needs_password(values):
        values["password"] = resolve_password(None, who=f"{p['username']}@{p['host']}", prompt=sys.stdin.isatty())
    _warn_if_unvalidated(values.get("cert_validation", True))
    return ConnectionOptions.build(**values)


def _flag_values(p: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """ConnectionOptions fields from the global options in `names` (those left unset are left out)."""
    names = set(names)
    values = {_FLAG_FIELDS[n]: p[n] for n in names & _FLAG_FIELDS.keys() if p.get(n) is not None}
    if "no_tls" in names:
        values["tls"] = not p["no_tls"]
    if "ca_file" in names and p["ca_file"]:
        values["cert_validation"] = p["ca_file"]
    elif "no_cert_validation" in names and p["no_cert_validation"]:
        values["cert_validation"] = False
    return values


def _warn_if_unvalidated(cert_validation: bool | str) -> None:
    if cert_validation is False:
        terminal.warning("TLS certificate validation is off")


def scrub_map(pairs: Sequence[str]) -> Any:
    """The ScrubMap of `--scrub REAL=PLACEHOLDER` pairs (the global option; selftest --record uses it too)."""
    from psbridge.replay.cassette import ScrubMap

    scrub = ScrubMap()
    for pair in pairs:
        real, sep, placeholder = pair.partition("=")
        if not sep or not real or not placeholder:
            raise InputError(f"--scrub takes REAL=PLACEHOLDER, not {pair!r}")
        scrub.add(real, placeholder)
    return scrub


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="psbridge")
@click.option(
    "--host", type=Host(), envvar="PSBRIDGE_HOST", help="Target host (FQDN for Kerberos). Env: PSBRIDGE_HOST."
)
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
@click.option(
    "--insecure-cleartext-basic",
    is_flag=True,
    help="Allow --auth basic with --no-tls to a host that is not loopback: the password travels in clear text.",
)
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to validate the server cert.")
@click.option("--no-cert-validation", is_flag=True, help="Do not validate the server certificate (warns).")
@click.option("--encryption", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--configuration-name", default="Microsoft.PowerShell", show_default=True, help="Remoting endpoint.")
@click.option("--cert-pem", type=click.Path(exists=True, dir_okay=False), help="Client certificate (certificate auth).")
@click.option("--cert-key-pem", type=click.Path(exists=True, dir_okay=False), help="Client certificate key.")
@click.option("--operation-timeout", type=Int32(1, MAX_SECONDS), default=20, show_default=True)
@click.option("--read-timeout", type=Int32(2, MAX_SECONDS), default=30, show_default=True)
@click.option("--connection-timeout", type=Int32(1, MAX_SECONDS), default=30, show_default=True)
@click.option("--timeout", type=Seconds(0.1), default=120.0, show_default=True, help="Deadline per call, seconds.")
@click.option("--replay", type=click.Path(exists=True), help="Serve every call from recordings (file or directory).")
@click.option(
    "--record",
    type=click.Path(),
    help="Record the live run: to this .yaml file (one session), or to this directory (DIR/<target>.yaml, "
    "DIR/graph/graph.yaml), the layout --replay reads.",
)
@click.option(
    "--record-mode",
    type=click.Choice(["once", "new_episodes", "rewrite"]),
    default="once",
    show_default=True,
    help="With --record: once = replay if the file exists; new_episodes = add what is missing; rewrite.",
)
@click.option("--scrub", multiple=True, metavar="REAL=PLACEHOLDER", help="Extra name to scrub from recordings.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Config file of named targets. Env: PSBRIDGE_CONFIG. [default: see `psbridge config path`]",
)
@click.option(
    "--target", metavar="NAME", envvar="PSBRIDGE_TARGET", help="Connect to this target (name or role) of the config."
)
@click.option(
    "--output", "-o", type=click.Choice(["table", "json", "nagios", "prometheus"]), default="table", show_default=True,
    help="nagios: one plugin status line with performance data, exit 0-3; prometheus: exposition text. Both for "
    "the runbooks, selftest, cloudsync status and adsync version (README: Monitoring).",
)  # fmt: skip
@click.option(
    "--textfile", metavar="PATH", type=click.Path(dir_okay=False),
    help="Also write the run's Prometheus exposition to PATH, atomically (node_exporter's textfile collector).",
)  # fmt: skip
@click.option("-v", "--verbose", count=True, help="-v: log events; -vv: debug events and tracebacks.")
@click.option(
    "--log-format", type=click.Choice(["auto", "text", "json"]), default="auto", show_default=True,
    envvar="PSBRIDGE_LOG_FORMAT",
    help="stderr: text lines, or one JSON object a line (errors, warnings, log events, progress); auto: text at "
    "a terminal, else JSON. Env: PSBRIDGE_LOG_FORMAT.",
)  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, /, **params: Any) -> None:
    """Drive Entra Connect Sync, Entra Cloud Sync and Exchange over PowerShell Remoting.

    Global options work before or after the command (`psbridge adsync version -o json`), except where the
    command has an option of that name itself, which then wins: --timeout of adsync sync, cloudsync connect and
    config check (their wait), --port and --auth of serve-replay, --record and --target of selftest.
    """
    if params["replay"] and params["record"]:
        raise click.UsageError("--replay and --record exclude each other (use --record-mode new_episodes)")
    if params["ca_file"] and params["no_cert_validation"]:
        raise click.UsageError("--ca-file and --no-cert-validation exclude each other: give one")
    if params["record"]:
        # Checked before the live session runs, not when the recording is saved after it.
        record = Path(params["record"]).absolute()
        parent = next((p for p in (record, *record.parents) if p.exists()), None)
        if parent is not None and parent != record and not parent.is_dir():
            raise click.BadParameter(f"{parent} is a file, not a directory", param_hint="--record")
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    explicit = frozenset(name for name in params if ctx.get_parameter_source(name) in given)
    state = CliContext(
        params=params, output=params["output"], verbose=params["verbose"], explicit=explicit,
        group=ctx.invoked_subcommand,
    )  # fmt: skip
    ctx.obj = state
    ctx.call_on_close(state.close)
    if params["config"] or os.environ.get("PSBRIDGE_CONFIG"):
        state.targets()  # a config file that was named must exist and be valid, whatever the command


def _register() -> None:
    from psbridge.cli.adsync import adsync
    from psbridge.cli.cloudsync import cloudsync
    from psbridge.cli.config_cmd import config
    from psbridge.cli.exchange import exchange
    from psbridge.cli.exo import exo
    from psbridge.cli.exo_rollout import rollout
    from psbridge.cli.runbooks import register
    from psbridge.cli.selftest import selftest
    from psbridge.cli.serve import serve_replay

    cli.add_command(adsync)
    cli.add_command(cloudsync)
    exo.add_command(rollout)
    cli.add_command(exo)
    cli.add_command(exchange)
    cli.add_command(serve_replay)
    cli.add_command(config)
    cli.add_command(selftest)
    register(cli)
    install_text_check(cli)
    _prepare_when_run(cli)


def _prepare_when_run(group: click.Group) -> None:
    """Wrap every command so that what it needs is set up when it runs, not before: `--help` at any depth
    then loads nothing heavy (the root's callback runs before a subcommand's --help is parsed)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _prepare_when_run(command)
        elif command.callback is not None and not hasattr(command.callback, "__psbridge_prepared__"):
            command.callback = _prepared(command.callback)


def _prepared(callback: Callable[..., Any]) -> Callable[..., Any]:
    """`callback`, run after logging is configured and a monitoring output the command lacks is refused."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from psbridge.cli.monitoring import before_command

        ctx = click.get_current_context()
        terminal.configure(ctx.find_root().params["verbose"])
        before_command(ctx)  # before anything is sent: a --output or --textfile this command cannot give
        try:
            return callback(*args, **kwargs)
        except KeyboardInterrupt:
            if terminal.json_lines():  # past click, which would first write an empty line (not JSON) on stderr
                raise Interrupted from None
            raise

    run.__psbridge_prepared__ = True  # type: ignore[attr-defined]
    return run


_register()


def _verbosity(args: Sequence[str]) -> int:
    count = 0
    for arg in args:
        if arg == "--verbose":
            count += 1
        elif len(arg) > 1 and arg[0] == "-" and set(arg[1:]) == {"v"}:
            count += len(arg) - 1
    return count


def on_error(args: Sequence[str], message: str, code: int) -> int:
    """The exit code of an error, as the output mode wants it (`--output nagios`: UNKNOWN, 3)."""
    from psbridge.cli.monitoring import on_error

    return on_error(args, message, code)


# Writing stdout failed: the reader went away (EPIPE), or the device is full or failing.
_OUTPUT_ERRNOS = {
    getattr(errno, name) for name in ("EPIPE", "ENOSPC", "EIO", "EDQUOT", "EFBIG") if hasattr(errno, name)
}


def _writing_stdout(exc: OSError) -> bool:
    """Whether `exc` came from writing stdout: raised within click.echo (whose only I/O is its stream's write
    and flush) to stdout, not from a file or a socket."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__") == "click.utils" and frame.f_code.co_name == "echo":
            return exc.errno in _OUTPUT_ERRNOS and not frame.f_locals.get("err")
        tb = tb.tb_next
    return False


def _flushed(code: int) -> int:
    """`code`, once stdout is flushed: an output error shows here, with its own code, not at exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        return _output_error(exc)
    return code


def _output_error(exc: OSError) -> int:
    """A closed pipe (`psbridge ... | head -1`) ends quietly with 141, the code git gives (check_pipe in
    https://github.com/git/git/blob/master/write_or_die.c) and a shell shows for SIGPIPE (128 + 13); a full
    or failing device is one line and 74. What stdout still buffers is dropped, so that
    Python does not fail again on it at exit."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd, devnull = sys.stdout.fileno(), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    if exc.errno == errno.EPIPE:
        return ExitCode.BROKEN_PIPE
    terminal.error(f"cannot write the output: {exc.strerror or exc}", ExitCode.LOCAL_WRITE)
    return ExitCode.LOCAL_WRITE


class Interrupted(BaseException):
    """Ctrl+C, carried past click to `main()` when stderr takes JSON lines only (see `_prepared`)."""


class Terminated(BaseException):
    """SIGTERM, raised where the run is, as Ctrl+C raises KeyboardInterrupt, and like it no Exception: every
    cleanup that holds for Ctrl+C (a pipeline stopped on the host, a journal left resumable) holds for it."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the CLI runs in the main thread, SIGTERM raises Terminated; the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    terminal.start(args)
    try:
        with _sigterm_interrupts():
            return _run(args)
    finally:
        terminal.finish()  # the summary of repeated warnings


def _run(args: list[str]) -> int:
    verbose = _verbosity(args)
    streams = sys.stdout, sys.stderr
    try:
        code = cli.main(args=args, prog_name="psbridge", standalone_mode=False)
        return _flushed(int(code or 0))
    except click.exceptions.Exit as exc:
        return _flushed(int(exc.exit_code))
    except SystemExit:  # click answers EPIPE by wrapping stdout and stderr, then exit 1: see _output_error
        if (sys.stdout, sys.stderr) == streams:
            raise
        sys.stdout, sys.stderr = streams
        return _output_error(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)))
    except click.ClickException as exc:
        return _failed(args, exc.format_message(), ExitCode.USAGE)
    except Terminated:
        message = "terminated (SIGTERM); a journaled run resumes from its journal"
        return _failed(args, message, ExitCode.TERMINATED, event="psbridge.terminated", prefix="")
    except (click.exceptions.Abort, KeyboardInterrupt, Interrupted):
        return _failed(args, "interrupted", ExitCode.INTERRUPTED, event="psbridge.interrupted", prefix="")
    except PsbridgeError as exc:
        code = _failed(args, str(exc), exc.exit_code)
        if verbose >= 2:
            terminal.trace(traceback.format_exc())
        return code
    except Exception as exc:  # a bug: say so in one line, keep the traceback behind -vv
        if isinstance(exc, OSError) and _writing_stdout(exc):
            return _output_error(exc)
        message = f"{type(exc).__name__}: {exc}"
        code = _failed(args, message, ExitCode.INTERNAL, event="psbridge.internal_error", prefix="internal error: ")
        if verbose >= 2 or os.environ.get("PSBRIDGE_DEBUG"):
            terminal.trace(traceback.format_exc())
        return code


def _failed(
    args: Sequence[str], message: str, code: int, *, event: str = "psbridge.error", prefix: str = "error: "
) -> int:
    """The run's one error line on stderr (`psbridge: PREFIXMESSAGE`, or a JSON event), and the exit code as the
    output mode wants it (`--output nagios`: UNKNOWN, 3, after its status line on stdout)."""
    code = on_error(args, f"{prefix}{message}" if prefix != "error: " else message, code)
    terminal.error(message, code, event=event, prefix=prefix)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
