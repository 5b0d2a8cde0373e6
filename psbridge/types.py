"""Value types for models: how PowerShell's values arrive over remoting, parsed into real Python types.

pypsrp hands DateTime and TimeSpan values over as text (xs:dateTime, ISO 8601 durations), and scripts
that cast to [string] send .NET's own forms ("7.00:00:00", "1/23/2018 2:58:30 PM"). These annotated
types accept each form a wrapper may meet and give an aware datetime or a timedelta.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_TIMESPAN = re.compile(r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?\s*$")
# .NET TimeSpan.MaxValue, which Graph and ADSync use for "no interval".
_TIMESPAN_MAX = {"P10675199DT2H48M5.4775807S", "10675199.02:48:05.4775807"}


def parse_timespan(value: Any) -> Any:
    """`d.hh:mm:ss[.fffffff]` (.NET) or ISO 8601 (`PT30M`); None or empty text for none; MaxValue is None."""
    if value is None or isinstance(value, dt.timedelta):
        return value
    text = str(value).strip()
    if not text or text in _TIMESPAN_MAX:
        return None
    match = _TIMESPAN.match(text)
    if match is None:
        return text  # ISO 8601: pydantic parses it, or reports it
    sign, days, hours, minutes, seconds, fraction = match.groups()
    span = dt.timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0").ljust(7, "0")[:7]) // 10,
    )
    return -span if sign else span


def parse_datetime(value: Any) -> Any:
    """xs:dateTime (7 fractional digits allowed), RFC 1123, or .NET's US text; naive values are UTC.

    `0001-01-01T00:00:00Z` (never) and empty text become None.
    """
    if value is None or isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text or text.startswith("0001-01-01"):
            return None
        parsed = None
        iso = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        try:
            parsed = dt.datetime.fromisoformat(iso)
        except ValueError:
            for fmt in ("%a, %d %b %Y %H:%M:%S GMT", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S"):
                try:
                    parsed = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            return text  # let pydantic report it
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def parse_bool(value: Any) -> Any:
    """PowerShell booleans that crossed as text ("True"/"False"): never truthiness of a non-empty string."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "":
            return None
    return value


def parse_flag(value: Any) -> bool | None:
    """A PowerShell boolean as a bool, or None when it is missing (None, empty text); text parsed as .NET's
    Convert.ToBoolean does ("True"/"False", any case). ValueError for anything else."""
    parsed = parse_bool(value)
    if parsed is None or isinstance(parsed, bool):
        return parsed
    raise ValueError(f"not a Boolean: {value!r}")


TimeSpan = Annotated[dt.timedelta | None, BeforeValidator(parse_timespan)]
DateTime = Annotated[dt.datetime | None, BeforeValidator(parse_datetime)]
Bool = Annotated[bool, BeforeValidator(parse_bool)]
# A bool a build may not report at all ($null, or empty text): None, never False.
OptionalBool = Annotated[bool | None, BeforeValidator(parse_bool)]


def format_time(when: dt.datetime, *, timespec: str = "auto") -> str:
    """A time as psbridge shows it everywhere, in tables as in JSON: ISO 8601, UTC written `Z` (as pydantic
    writes it in JSON), any other offset as `+hh:mm`; a time without an offset as it is."""
    text = when.isoformat(timespec=timespec)
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def format_timespan(span: dt.timedelta) -> str:
    """.NET's TimeSpan text (`[-][d.]hh:mm:ss[.fffffff]`), which PowerShell converts back to a TimeSpan."""
    sign = "-" if span < dt.timedelta(0) else ""
    span = abs(span)
    hours, rest = divmod(span.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if span.days:
        text = f"{span.days}.{text}"
    if span.microseconds:
        text += f".{span.microseconds * 10:07d}"
    return sign + text
