"""Timestamps and ages the way the Kubernetes API writes them.

Contracts:

* What the server *writes* is always `metav1.Time`'s wire form: RFC 3339, UTC, whole seconds, `Z`
  (`2024-05-01T12:00:00Z`). Fractions are truncated, not rounded, as Go's `time.Format(RFC3339)` does, so a
  timestamp written twice within one second never appears to move forward.
* What the server *reads* is parsed leniently: clients echo timestamps back as `+00:00`, with fractions, or
  with another offset (the Python client does), and those must compare equal to the stored value.
  Offsets are honoured and the result is always an aware UTC `datetime`; a value without an offset is
  rejected because its instant is ambiguous.
* `human_duration` reproduces apimachinery's `duration.HumanDuration` digit for digit, because kubectl's AGE
  column is computed from it and users compare the two side by side.

Pure module: no Django, no I/O beyond reading the clock in `now_rfc3339`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

__all__ = [
    "format_rfc3339",
    "format_rfc3339_micro",
    "human_duration",
    "now_rfc3339",
    "parse_rfc3339",
    "short_human_duration",
]

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE


def now_rfc3339() -> str:
    """The current instant in the form the server stores in `creationTimestamp` and friends."""
    return format_rfc3339(datetime.now(UTC))


def format_rfc3339(dt: datetime) -> str:
    """`metav1.Time` wire form: UTC, whole seconds (fraction truncated), `Z` suffix.

    A naive `datetime` is taken to be UTC already: the project keeps naive values only for UTC, and guessing
    the machine's local zone would make the output depend on where the server runs.
    """
    u = _to_utc(dt)
    # Not strftime: glibc's %Y does not zero-pad years below 1000, and RFC 3339 needs four digits.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def format_rfc3339_micro(dt: datetime) -> str:
    """`metav1.MicroTime` wire form (Events, Leases): UTC, exactly six fractional digits, `Z` suffix."""
    return format_rfc3339(dt)[:-1] + f".{_to_utc(dt).microsecond:06d}Z"


def parse_rfc3339(s: str) -> datetime:
    """Parse an RFC 3339 timestamp leniently and return an aware UTC `datetime`.

    Accepts `Z`/`z` or a `±HH:MM` offset, any number of fractional digits (kept to microseconds, the
    precision `datetime` has; further digits are truncated), and `T`, `t` or a space between date and time.
    Raises `ValueError` for anything else (including a missing offset, or an out-of-range field such as
    second 60), leaving the caller to decide between 400 and 422.
    """
    if not isinstance(s, str):
        raise ValueError(f"timestamp must be a string, not {type(s).__name__}")
    m = _RFC3339.fullmatch(s.strip())
    if m is None:
        raise ValueError(f"invalid RFC 3339 timestamp: {s!r}")
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    tz = m.group("tz")
    try:
        base = datetime.strptime(f"{m.group('date')}T{m.group('time')}", "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise ValueError(f"invalid RFC 3339 timestamp: {s!r}") from exc
    offset = timedelta(0)
    if tz not in ("Z", "z"):
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"invalid RFC 3339 timestamp: {s!r}")
        offset = timedelta(hours=hours, minutes=minutes)
        if tz[0] == "-":
            offset = -offset
    naive_utc = base.replace(microsecond=int(frac))
    try:
        naive_utc -= offset
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 lies before datetime.min
        raise ValueError(f"invalid RFC 3339 timestamp: {s!r}") from exc
    return naive_utc.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """Age in apimachinery's `duration.HumanDuration` format (kubectl's AGE column).

    Roughly 2-3 significant figures: `45s`, `119s`, `5m10s`, `15m`, `3h20m`, `47h`, `2d3h`, `400d`, `3y12d`,
    `9y`. Up to two seconds in the future counts as now (`0s`), absorbing clock skew between machines;
    anything further in the future, or a non-finite input, is `<invalid>`.
    """
    ns = _to_nanoseconds(seconds)
    if ns is None:
        return "<invalid>"
    secs = _trunc_div(ns, _NS_PER_SECOND)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = ns // _NS_PER_MINUTE
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _NS_PER_HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """apimachinery's `duration.ShortHumanDuration`: a single unit (`59s`, `1m`, `23h`, `364d`, `2y`).

    Same skew tolerance and `<invalid>` rule as `human_duration`.
    """
    ns = _to_nanoseconds(seconds)
    if ns is None:
        return "<invalid>"
    secs = _trunc_div(ns, _NS_PER_SECOND)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    minutes = ns // _NS_PER_MINUTE
    if minutes < 60:
        return f"{minutes}m"
    hours = ns // _NS_PER_HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _to_nanoseconds(seconds: float) -> int | None:
    """Seconds as Go's `time.Duration` (int64 nanoseconds), or None when no duration can represent them."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return None
    if isinstance(seconds, int):
        return seconds * _NS_PER_SECOND
    return round(seconds * _NS_PER_SECOND)


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as Go's `int(d.Seconds())` does for negative durations."""
    q = abs(a) // b
    return q if a >= 0 else -q
