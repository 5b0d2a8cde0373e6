import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from psbridge.types import Bool, DateTime, TimeSpan


class M(BaseModel):
    span: TimeSpan = None
    when: DateTime = None
    flag: Bool = False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:30:00", dt.timedelta(minutes=30)),
        ("7.00:00:00", dt.timedelta(days=7)),
        ("1.02:03:04.5000000", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500)),
        ("PT2M", dt.timedelta(minutes=2)),
        ("PT30M", dt.timedelta(minutes=30)),
        ("P10675199DT2H48M5.4775807S", None),
        ("", None),
    ],
)
def test_timespans(text: str, expected: dt.timedelta | None) -> None:
    assert M(span=text).span == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-11-08T15:48:05.7360238Z", dt.datetime(2019, 11, 8, 15, 48, 5, 736023, tzinfo=dt.UTC)),
        ("2022-04-08T20:13:31.163", dt.datetime(2022, 4, 8, 20, 13, 31, 163000, tzinfo=dt.UTC)),
        ("Thu, 10 Mar 2022 18:48:01 GMT", dt.datetime(2022, 3, 10, 18, 48, 1, tzinfo=dt.UTC)),
        ("1/23/2018 2:58:30 PM", dt.datetime(2018, 1, 23, 14, 58, 30, tzinfo=dt.UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
    ],
)
def test_datetimes(text: str, expected: dt.datetime | None) -> None:
    assert M(when=text).when == expected


def test_string_booleans_are_parsed_not_truthy() -> None:
    assert M(flag="False").flag is False
    assert M(flag="True").flag is True
    with pytest.raises(ValidationError):
        M(flag="banana")
    with pytest.raises(ValidationError):
        M(when="yesterday-ish")


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (dt.timedelta(minutes=40), "00:40:00"),
        (dt.timedelta(days=7), "7.00:00:00"),
        (dt.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500), "1.02:03:04.5000000"),
        (-dt.timedelta(minutes=30), "-00:30:00"),
    ],
)
def test_format_timespan_is_the_inverse_of_parsing(span: dt.timedelta, text: str) -> None:
    from psbridge.types import format_timespan

    assert format_timespan(span) == text
    assert M(span=text).span == span
