"""How the CLI writes to stderr: one writer for its errors, warnings, notices, log events and progress.

The format is `--log-format auto|text|json` (env PSBRIDGE_LOG_FORMAT), read from the command line before
click parses it, so that a usage error is written in it too. `auto` is text when stderr is a terminal and
JSON lines when it is not.

- JSON: every stderr line is one JSON object with `event`, `level` and `timestamp`: an error is
  `{"event": "psbridge.error", "level": "error", "message": ..., "exit_code": 2, ...}` (a bug:
  `psbridge.internal_error`), a warning `psbridge.warning`, Ctrl+C `psbridge.interrupted`, SIGTERM
  `psbridge.terminated`, the traceback of -vv `psbridge.traceback`, and the library's structlog events as
  they are (`psbridge.invoke`, `psbridge.remote.warning`, `psbridge.exo.rollout.progress`, ...).
- text: the CLI's own lines as `psbridge: error: ...`, `psbridge: warning: ...`, and log events as structlog's
  console renderer writes them, in colour at a terminal unless NO_COLOR is set (https://no-color.org).
  At a terminal a progress bar (rich) is drawn live at the bottom and every line is printed above it,
  through the one rich Console on stderr.

An identical warning (the same event with the same fields, e.g. the same remote warning from the same
command) is written once; at the end of the command one line per such warning says how many more times it
came (`psbridge.repeated` in JSON, with `count`). Errors are one line, without any form of a secret this
process holds, and a message of tens of thousands of characters is cut.

Light to import (the standard library and click): rich and structlog are imported when a line needs them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

FORMATS = ("auto", "text", "json")
ENV = "PSBRIDGE_LOG_FORMAT"
MAX_ERROR = 2000  # an error's text line is cut to this many characters (a value quoted in it can be huge)
_REPEATED = "psbridge.repeated"


@dataclasses.dataclass
class _State:
    """One CLI run's: the format asked for, the warnings seen (first event, repeats), the live bar's console."""

    requested: str = "auto"
    seen: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    console: Any = None


_state = _State()


def option_values(args: Sequence[str], names: Mapping[str, str]) -> dict[str, str]:
    """The values of the options in `names` (option spelling -> key) as a command line gives them, the last
    winning, read without click: an error may stop its parsing anywhere. A short option may be glued (`-ojson`)."""
    found: dict[str, str] = {}
    shorts = {name: key for name, key in names.items() if len(name) == 2 and not name.startswith("--")}
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in names and eq:
            found[names[name]] = value
        elif arg in names and i + 1 < len(args):
            found[names[arg]] = args[i + 1]
        elif not arg.startswith("--") and arg[:2] in shorts and len(arg) > 2:
            found[shorts[arg[:2]]] = arg[2:]
    return found


def start(args: Sequence[str]) -> None:
    """A CLI run begins: its format from `--log-format` or PSBRIDGE_LOG_FORMAT (an unknown value counts as
    auto here; click then refuses it), and no warning seen yet."""
    global _state
    requested = option_values(args, {"--log-format": "format"}).get("format") or os.environ.get(ENV, "auto")
    _state = _State(requested=requested if requested in FORMATS else "auto")


def finish() -> None:
    """The run ends: the summary of repeated warnings; the standard library's log records are left alone again."""
    _summarise()
    logging.getLogger().removeHandler(_HANDLER)


def _summarise() -> None:
    """One line for each warning that came more than once, saying how many more times."""
    seen, _state.seen = _state.seen, {}
    for first, repeats in seen.values():
        if repeats:
            what = first.get("message") or first.get("warning") or first["event"]
            times = "time" if repeats == 1 else "times"
            _write(
                {"event": _REPEATED, "level": "warning", "of": first["event"], "message": what, "count": repeats},
                f"psbridge: warning: {what} ({first['event']}) repeated {repeats} more {times}",
            )


def json_lines() -> bool:
    return _state.requested == "json" or (_state.requested == "auto" and not _isatty())


def live() -> bool:
    """Whether a live progress bar can be drawn: text at a terminal."""
    return not json_lines() and _isatty()


def colour() -> bool:
    return live() and not os.environ.get("NO_COLOR")


def error(message: str, exit_code: int, *, event: str = "psbridge.error", prefix: str = "error: ") -> None:
    """The run's one error line: `psbridge: error: MESSAGE` (a bug: `psbridge: internal error: ...`; Ctrl+C:
    `psbridge: interrupted`), without any form of a secret this process holds, and cut when huge."""
    text = _redact(f"psbridge: {prefix}{message}")
    if len(text) > MAX_ERROR:
        text = f"{text[: MAX_ERROR - 200]} ... [{len(text) - MAX_ERROR + 150} characters cut] ... {text[-150:]}"
    message = text.removeprefix(f"psbridge: {prefix}")
    _write({"event": event, "level": "error", "message": message, "exit_code": exit_code}, text)


def warning(message: str, *, event: str = "psbridge.warning", **fields: Any) -> None:
    """`psbridge: warning: MESSAGE`; an identical one already written is only counted (see `finish`)."""
    message = _redact(message)
    _write({"event": event, "level": "warning", "message": message, **fields}, f"psbridge: warning: {message}")


def notice(message: str, *, event: str, level: str = "info", text: str | None = None, **fields: Any) -> None:
    """A line of the CLI's own that is neither an error nor a warning: `psbridge: MESSAGE` (or `text` as is)."""
    message = _redact(message)
    _write({"event": event, "level": level, "message": message, **fields}, text or f"psbridge: {message}")


def trace(text: str) -> None:
    """The traceback of -vv: as is in text, one `psbridge.traceback` event in JSON."""
    text = _redact(text).rstrip("\n")
    _write({"event": "psbridge.traceback", "level": "debug", "traceback": text}, text)


def write_event(event: str, level: str = "info", **fields: Any) -> None:
    """A structured event of the CLI's own (e.g. progress off a terminal), whatever the log level."""
    log_event({"event": event, "level": level, **fields})


def log_event(record: dict[str, Any]) -> None:
    """A structlog event (already redacted by `psbridge.logs.drop_tokens`): a JSON line, or the console renderer's."""
    _write(record, None)


@contextlib.contextmanager
def bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A live progress bar at the bottom of the terminal (only where `live()`); yields `advance(done, total)`.
    While it is drawn, every line of this module is printed above it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_console(), transient=False) as progress:
        task = progress.add_task(label, total=None)
        _state.console = progress.console
        try:
            yield lambda done, total: progress.update(task, completed=done, total=total)
        finally:
            _state.console = None


def _console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr, no_color=not colour(), highlight=False, soft_wrap=True)


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def _redact(text: str) -> str:
    from psbridge.logs import redact_known

    return redact_known(text)


def _write(record: dict[str, Any], text: str | None) -> None:
    """The one place a line reaches stderr. An error (the run's end) comes after the summary of repeated warnings,
    so that it is the last line."""
    if record.get("level") == "error":
        _summarise()
    if record.get("level") == "warning" and record["event"] != _REPEATED and _repeated(record):
        return
    record.setdefault("timestamp", dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if json_lines():
        line = json.dumps(record, sort_keys=True, default=str)
    else:
        line = text if text is not None else _console_line(record)
    if _state.console is not None:
        from rich.text import Text

        _state.console.print(Text.from_ansi(line))
        return
    stream = sys.stderr
    stream.write(f"{line}\n")
    stream.flush()


def _repeated(record: dict[str, Any]) -> bool:
    """Whether an identical warning was written already (then it is counted)."""
    fields = {key: value for key, value in record.items() if key not in ("timestamp", "level")}
    key = json.dumps(fields, sort_keys=True, default=str)
    first = _state.seen.get(key)
    if first is None:
        _state.seen[key] = [dict(record), 0]
        return False
    first[1] += 1
    return True


def _console_line(record: dict[str, Any]) -> str:
    """A log event as text: a warning with a text of its own as the CLI's warnings read, `psbridge: warning: TEXT
    (event, field=value, ...)`; anything else as structlog's console renderer writes it."""
    level, text = record.get("level", "info"), record.get("message") or record.get("warning")
    if level == "warning" and isinstance(text, str):
        skip = {"event", "level", "timestamp", "message", "warning"}
        fields = [record["event"], *(f"{key}={record[key]}" for key in sorted(record) if key not in skip)]
        return f"psbridge: warning: {text} ({', '.join(fields)})"
    import structlog

    renderer = structlog.dev.ConsoleRenderer(colors=colour())
    return str(renderer(None, level, dict(record)))


class _StdlibHandler(logging.Handler):
    """The standard library's log records of WARNING and above, through this writer. Without -v, only those
    Python's last-resort handler would have written as plain text (msal's): a library that silences its own
    logger with a NullHandler (pypsrp, urllib3) logs what psbridge reports itself, as one error line."""

    verbose = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.verbose and _handled_below_root(logging.getLogger(record.name)):
            return
        try:
            log_event(
                {"event": record.name, "level": record.levelname.lower(), "message": _redact(record.getMessage())}
            )
        except Exception:  # a log line must never end the run
            self.handleError(record)


def _handled_below_root(logger: logging.Logger) -> bool:
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:  # the root has no parent
        if node.handlers:
            return True
        node = node.parent if node.propagate else None
    return False


_HANDLER = _StdlibHandler(logging.WARNING)


def capture_logging(verbose: bool) -> None:
    """Route the standard library's warnings through this writer until `finish` (every one with -v)."""
    _HANDLER.verbose = verbose
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


def configure(verbosity: int, *, json_lines: bool | None = None) -> None:
    """The CLI's log output: every structlog event through this writer, as JSON lines or readable lines as
    `--log-format` says (`json_lines` forces one), at WARNING, or INFO (-v) or DEBUG (-vv); the standard
    library's warnings (pypsrp, urllib3, msal) take the same way (`capture_logging`)."""
    import structlog

    from psbridge.logs import drop_tokens

    if json_lines is not None:
        start(["--log-format", "json" if json_lines else "text"])
    level = logging.WARNING - 10 * max(0, min(verbosity, 2))
    structlog.configure(
        processors=[
            drop_tokens,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            lambda _logger, _method, event: ((event,), {}),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_StructlogLogger,
        cache_logger_on_first_use=False,
    )
    capture_logging(verbose=verbosity > 0)


class _StructlogLogger:
    """structlog's logger for the CLI: each method hands the event to `log_event`."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, event: dict[str, Any]) -> None:
        log_event(event)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg
