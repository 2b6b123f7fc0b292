"""kube.timefmt: wire-format timestamps and apimachinery's HumanDuration."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kube.timefmt import (
    format_rfc3339,
    format_rfc3339_micro,
    human_duration,
    now_rfc3339,
    parse_rfc3339,
    short_human_duration,
)

SECOND = 1.0
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MS = 1e-3
NS = 1e-9


# --- formatting --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "2024-05-01T12:00:00Z"),
        # Fractions are truncated, never rounded up into the next second.
        (datetime(2024, 5, 1, 12, 0, 0, 999_999, tzinfo=UTC), "2024-05-01T12:00:00Z"),
        # Other zones are converted to UTC.
        (datetime(2024, 5, 1, 14, 30, 0, tzinfo=timezone(timedelta(hours=2, minutes=30))), "2024-05-01T12:00:00Z"),
        (datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone(timedelta(hours=-1))), "2024-01-01T01:00:00Z"),
        # Naive values are taken as UTC.
        (datetime(1999, 12, 31, 23, 59, 59), "1999-12-31T23:59:59Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
    ],
)
def test_format_rfc3339(dt: datetime, expected: str) -> None:
    assert format_rfc3339(dt) == expected


def test_format_rfc3339_micro_has_six_digits() -> None:
    assert format_rfc3339_micro(datetime(2024, 5, 1, 12, 0, 0, 1500, tzinfo=UTC)) == "2024-05-01T12:00:00.001500Z"
    assert format_rfc3339_micro(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)) == "2024-05-01T12:00:00.000000Z"


def test_now_rfc3339_is_current_and_in_wire_form() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = now_rfc3339()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", stamp)
    assert before <= parse_rfc3339(stamp) <= after


# --- parsing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01t12:00:00Z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00Z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        # What the Python client sends back.
        ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00-00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:30", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T07:00:00-05:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00.5Z", datetime(2024, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456Z", datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)),
        # Nanoseconds (Go's RFC3339Nano) are cut to microseconds.
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)),
        ("2024-05-01T12:00:00.000000+00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        # An offset can move the instant across a day, month or year boundary.
        ("2024-01-01T00:30:00+01:00", datetime(2023, 12, 31, 23, 30, 0, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        (" 2024-05-01T12:00:00Z\n", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339_lenient(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "now",
        "2024-05-01",
        "2024-05-01T12:00:00",  # no offset: ambiguous instant
        "2024-05-01T12:00Z",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00+0000",
        "2024-05-01T12:00:00+00",
        "2024-13-01T12:00:00Z",
        "2024-02-30T12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:60Z",  # leap seconds are rejected, as Go does
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00+01:60",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before datetime.min once normalised
        "24-05-01T12:00:00Z",
        "2024-05-01T12:00:00Z trailing",
        "２０２４-05-01T12:00:00Z",  # non-ASCII digits
        "2024-05-01T12:00:00ZZ",
        "\x00",
    ],
)
def test_parse_rfc3339_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


@pytest.mark.parametrize("value", [None, 0, 1.5, b"2024-05-01T12:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)])
def test_parse_rfc3339_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(value)  # type: ignore[arg-type]


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_format_then_parse_round_trips_to_the_second(dt: datetime) -> None:
    assert parse_rfc3339(format_rfc3339(dt)) == dt.replace(microsecond=0)
    assert parse_rfc3339(format_rfc3339_micro(dt)) == dt


@given(st.text(max_size=40))
def test_parse_rfc3339_only_ever_raises_value_error(text: str) -> None:
    try:
        parsed = parse_rfc3339(text)
    except ValueError:
        return
    assert parsed.tzinfo is UTC


# --- human durations ---------------------------------------------------------------------------------------

# apimachinery pkg/util/duration/duration_test.go TestHumanDuration and TestHumanDurationBoundaries.
UPSTREAM_HUMAN = [
    (SECOND, "1s"),
    (70 * SECOND, "70s"),
    (190 * SECOND, "3m10s"),
    (70 * MINUTE, "70m"),
    (47 * HOUR, "47h"),
    (49 * HOUR, "2d1h"),
    ((8 * 24 + 2) * HOUR, "8d"),
    (367 * 24 * HOUR, "367d"),
    ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
    ((365 * 8 * 24 + 2) * HOUR, "8y"),
    (-2 * SECOND, "<invalid>"),
    (-2 * SECOND + NS, "0s"),
    (0, "0s"),
    (SECOND - MS, "0s"),
    (2 * MINUTE - MS, "119s"),
    (2 * MINUTE, "2m"),
    (2 * MINUTE + SECOND, "2m1s"),
    (10 * MINUTE - MS, "9m59s"),
    (10 * MINUTE, "10m"),
    (10 * MINUTE + SECOND, "10m"),
    (3 * HOUR - MS, "179m"),
    (3 * HOUR, "3h"),
    (3 * HOUR + MINUTE, "3h1m"),
    (8 * HOUR - MS, "7h59m"),
    (8 * HOUR, "8h"),
    (8 * HOUR + 59 * MINUTE, "8h"),
    (2 * DAY - MS, "47h"),
    (2 * DAY, "2d"),
    (2 * DAY + HOUR, "2d1h"),
    (8 * DAY - MS, "7d23h"),
    (8 * DAY, "8d"),
    (8 * DAY + 23 * HOUR, "8d"),
    (2 * 365 * DAY - MS, "729d"),
    (2 * 365 * DAY, "2y"),
    (2 * 365 * DAY + 23 * HOUR, "2y"),
    (2 * 365 * DAY + 23 * HOUR + 59 * MINUTE, "2y"),
    (2 * 365 * DAY + DAY - MS, "2y"),
    (2 * 365 * DAY + DAY, "2y1d"),
    (3 * 365 * DAY, "3y"),
    (4 * 365 * DAY, "4y"),
    (5 * 365 * DAY, "5y"),
    (6 * 365 * DAY, "6y"),
    (7 * 365 * DAY, "7y"),
    (8 * 365 * DAY - MS, "7y364d"),
    (8 * 365 * DAY, "8y"),
    (8 * 365 * DAY + 364 * DAY, "8y"),
    (9 * 365 * DAY, "9y"),
]

# The examples kubectl users see in the AGE column.
AGE_COLUMN = [
    (45, "45s"),
    (5 * MINUTE + 10, "5m10s"),
    (15 * MINUTE, "15m"),
    (15 * MINUTE + 59, "15m"),
    (3 * HOUR + 20 * MINUTE, "3h20m"),
    (2 * DAY + 3 * HOUR, "2d3h"),
    (400 * DAY, "400d"),
    (3 * 365 * DAY + 12 * DAY, "3y12d"),
    (100 * 365 * DAY, "100y"),
    (-1, "0s"),
    (-1.999, "0s"),
    (-2, "<invalid>"),
    (-3600, "<invalid>"),
]


@pytest.mark.parametrize(("seconds", "expected"), UPSTREAM_HUMAN + AGE_COLUMN)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf])
def test_human_duration_non_finite_is_invalid(seconds: float) -> None:
    assert human_duration(seconds) == "<invalid>"
    assert short_human_duration(seconds) == "<invalid>"


def test_human_duration_accepts_ints() -> None:
    assert human_duration(190) == "3m10s"
    assert short_human_duration(190) == "3m"


# apimachinery TestShortHumanDurationBoundaries.
@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-2 * SECOND, "<invalid>"),
        (-2 * SECOND + NS, "0s"),
        (0, "0s"),
        (SECOND - MS, "0s"),
        (SECOND, "1s"),
        (2 * SECOND - MS, "1s"),
        (MINUTE - MS, "59s"),
        (MINUTE, "1m"),
        (2 * MINUTE - MS, "1m"),
        (HOUR - MS, "59m"),
        (HOUR, "1h"),
        (2 * HOUR - MS, "1h"),
        (DAY - MS, "23h"),
        (DAY, "1d"),
        (2 * DAY - MS, "1d"),
        (365 * DAY - MS, "364d"),
        (365 * DAY, "1y"),
        (2 * 365 * DAY - MS, "1y"),
        (2 * 365 * DAY, "2y"),
    ],
)
def test_short_human_duration(seconds: float, expected: str) -> None:
    assert short_human_duration(seconds) == expected


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_human_duration_always_renders(seconds: float) -> None:
    out = human_duration(seconds)
    assert out == "<invalid>" or re.fullmatch(r"\d+(s|m|m\d+s|h|h\d+m|d|d\d+h|y|y\d+d)", out)
