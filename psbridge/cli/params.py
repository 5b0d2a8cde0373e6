"""Click parameter types that refuse bad input before anything is sent: every refusal is a
`click.BadParameter`, which the CLI prints as one line and exits 2 for.

- `Text`: valid Unicode. A byte that is not UTF-8 in argv reaches Python as a lone surrogate
  (PEP 383); sent on, it fails deep in an encoder. `install_text_check` puts it on every string
  option and argument of the CLI, so a new option cannot forget it.
- `Int32`, `Seconds`: numbers that fit what the remote side binds (.NET Int32) or what a timer takes:
  finite, within a range (no nan, no inf, no 1e300 seconds).
- `TimeSpan`: a positive .NET TimeSpan, `d.hh:mm:ss[.fffffff]` or ISO 8601 (`PT30M`), at most
  TimeSpan.MaxValue; handed on as .NET text.
- `ResultSize`: `Unlimited` or a positive Int32 (Exchange's -ResultSize).
- `Host`: a DNS name or an IP literal.
- `NonEmpty`, `Guid`, `Id`, `JsonText`, `HttpsUrl`: the shapes of names, ids, bodies and URLs; those that
  are text check it is valid Unicode first (they build on `Text`).
- `JobStatusCode`: a Cloud Sync job's status code (`--wait-for`), one Graph documents, in its own spelling.
- `NotBoth`: an `--on/--off` flag pair that refuses both, instead of taking the last one silently.

Only click and the standard library are imported here: `psbridge --help` loads this module.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.parser import _OptionParser

INT32_MAX = 2**31 - 1
# The longest wait, deadline or pause the CLI takes: a year. Longer is a typo, and timers overflow.
MAX_SECONDS = 366 * 86400
# .NET TimeSpan.MaxValue is 10675199.02:48:05.4775807; whole days below it are what we accept.
_TIMESPAN_MAX_DAYS = 10_675_198
_NET_TIMESPAN = re.compile(r"(?:(\d{1,8})\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?")
_ISO_TIMESPAN = re.compile(r"P(?:(\d{1,8})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,11})M)?(?:(\d{1,12})(?:\.(\d{1,7}))?S)?)?")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")  # RFC 1123; `_` as Windows names allow it
_ID = re.compile(r"[^\s/?#%\\]+")  # no whitespace, nothing that changes a URL path


def _unicode_error(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "the value is not valid text: it holds bytes that are not UTF-8 "
            "(check the terminal's or the script's encoding)"
        )
    return None


class Text(click.ParamType[str]):
    """Any text that is valid Unicode."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and (problem := _unicode_error(value)):
            self.fail(problem, param, ctx)
        return value


class NonEmpty(Text):
    """Valid Unicode text that is not empty or blank: a distinguished name, a group."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(value, param, ctx)
        if isinstance(text, str) and not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


class Int32(click.IntRange):
    """A whole number that fits a .NET Int32 (the cmdlet's parameter type), from `min` (default 1)."""

    name = "integer"

    def __init__(self, min: int = 1, max: int = INT32_MAX) -> None:  # noqa: A002 - click's names
        super().__init__(min, max)


class Seconds(click.FloatRange):
    """A finite number of seconds (or other unit), from `min` to `max` (default a year)."""

    name = "seconds"

    def __init__(self, min: float = 0, max: float = MAX_SECONDS, *, min_open: bool = False) -> None:  # noqa: A002
        super().__init__(min, max, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class TimeSpan(click.ParamType[str]):
    """A positive TimeSpan, `d.hh:mm:ss[.fffffff]` or ISO 8601 (`P1D`, `PT30M`), returned as .NET text."""

    name = "timespan"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        parts = _timespan_parts(text)
        if parts is None:
            self.fail(f"{text!r} is not a TimeSpan such as 00:40:00, 7.00:00:00 or PT30M", param, ctx)
        days, seconds, ticks = parts
        if days > _TIMESPAN_MAX_DAYS:
            self.fail(f"{text!r} is longer than a .NET TimeSpan can be ({_TIMESPAN_MAX_DAYS} days)", param, ctx)
        if (days, seconds, ticks) == (0, 0, 0):
            self.fail(f"{text!r} is not positive", param, ctx)
        hours, rest = divmod(seconds, 3600)
        clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}" + (f".{ticks:07d}" if ticks else "")
        return f"{days}.{clock}" if days else clock


def _timespan_parts(text: str) -> tuple[int, int, int] | None:
    """(days, seconds within the day, ticks) of a .NET or ISO 8601 TimeSpan; None if it is neither."""
    if match := _NET_TIMESPAN.fullmatch(text):
        days, hours, minutes, seconds, fraction = match.groups()
        if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:  # .NET refuses these too
            return None
        return (
            int(days or 0),
            int(hours) * 3600 + int(minutes) * 60 + int(seconds),
            int((fraction or "0").ljust(7, "0")),
        )
    if (match := _ISO_TIMESPAN.fullmatch(text)) and text not in ("P", "PT") and not text.endswith("T"):
        days, hours, minutes, seconds, fraction = (int(g) if g else 0 for g in match.groups())
        whole_days, rest = divmod(hours * 3600 + minutes * 60 + seconds, 86400)
        ticks = int((match.group(5) or "0").ljust(7, "0"))
        return days + whole_days, rest, ticks
    return None


class ResultSize(click.ParamType[str]):
    """`Unlimited`, or a positive number that fits an Int32; returned as text."""

    name = "result_size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if text.lower() == "unlimited":
            return "Unlimited"
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= INT32_MAX:
            self.fail(f"{text!r} is neither Unlimited nor a number from 1 to {INT32_MAX}", param, ctx)
        return str(int(text))


class Host(click.ParamType[str]):
    """A DNS name (RFC 1123 labels; international names through IDNA) or an IP address ([::1] too)."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        if problem := _unicode_error(text) or _host_error(text):
            self.fail(problem, param, ctx)
        return text


def _host_error(text: str) -> str | None:
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return f"{text!r} is not a host name (letters, digits, '-' between dots) or an IP address"
    if labels[-1].isdigit():
        return f"{text!r} is not a valid IP address"
    return None


class HttpsUrl(Text):
    """An absolute https:// URL with a valid host name, e.g. a Microsoft Graph URI; returned as given."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(super().convert(value, param, ctx))
        try:
            parts = urllib.parse.urlsplit(text)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            host = ""
        if parts.scheme.lower() != "https" or not host or _host_error(host) is not None:
            self.fail(f"{text!r} is not an https:// URL, e.g. https://graph.microsoft.com/beta/...", param, ctx)
        return text


class Guid(click.ParamType[str]):
    """A GUID (any form uuid.UUID reads), returned in its canonical form."""

    name = "guid"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return str(uuid.UUID(str(value).strip()))
        except ValueError:
            self.fail(f"{value!r} is not a GUID (e.g. 00000000-0000-0000-0000-000000000000)", param, ctx)


class Id(Text):
    """A non-empty id with no whitespace and nothing that would change a URL path (`/ ? # % \\`)."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(super().convert(value, param, ctx))
        if not _ID.fullmatch(text):
            self.fail(f"{text!r} is not an id: it must be non-empty, without spaces or / ? # % \\", param, ctx)
        return text


class JsonText(Text):
    """Text that parses as JSON; returned as given."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(super().convert(value, param, ctx))
        try:
            json.loads(text)
        except ValueError as exc:
            self.fail(f"not valid JSON: {exc}", param, ctx)
        return text


# synchronizationStatus `code`, the values Graph documents (AADCloudSyncTools returns Graph's status as is):
# https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus
JOB_STATUS_CODES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")


class JobStatusCode(click.ParamType[str]):
    """A job status code Graph documents, in any case; returned in Graph's spelling (`paused` -> `Paused`)."""

    name = "code"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        found = next((code for code in JOB_STATUS_CODES if code.casefold() == text.casefold()), None)
        if found is None:
            self.fail(f"{text!r} is not a job status code: one of {', '.join(JOB_STATUS_CODES)}", param, ctx)
        return found


class NotBoth(click.Option):
    """An `--on/--off` flag pair that refuses both on one command line (click would take the last)."""

    def add_to_parser(self, parser: _OptionParser, ctx: click.Context) -> None:
        # Each spelling appends its constant, so type_cast_value sees every one that was given.
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append_const", const=True)
        parser.add_option(obj=self, opts=self.secondary_opts, dest=self.name, action="append_const", const=False)

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            if len(set(value)) > 1:
                raise click.BadParameter(
                    f"{self.opts[0]} and {self.secondary_opts[0]} exclude each other: give one", ctx=ctx, param=self
                )
            value = value[0] if value else None
        return super().type_cast_value(ctx, value)


def install_text_check(command: click.Command) -> None:
    """Give every plain string option and argument of `command` and its subcommands the `Text` check."""
    for param in command.params:
        if param.type is click.STRING:
            param.type = Text()
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            install_text_check(sub)
