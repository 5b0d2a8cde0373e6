"""One time format, in tables as in JSON: ISO 8601 with UTC written `Z`, as pydantic writes JSON."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from psbridge.types import format_time


class _When(BaseModel):
    at: dt.datetime


def test_utc_is_written_z_as_in_the_json_and_other_offsets_keep_theirs() -> None:
    utc = dt.datetime(2026, 11, 25, 11, 58, 3, tzinfo=dt.UTC)
    assert format_time(utc) == "2026-11-25T11:58:03Z" == _When(at=utc).model_dump(mode="json")["at"]
    paris = dt.datetime(2026, 11, 25, 12, 58, 3, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_time(paris) == "2026-11-25T12:58:03+01:00" == _When(at=paris).model_dump(mode="json")["at"]
    assert format_time(dt.datetime(2026, 11, 25, 11, 58, 3, 553201, tzinfo=dt.UTC), timespec="seconds") == (
        "2026-11-25T11:58:03Z"
    )
