"""The one clock: UTC, timezone-aware, freezable in tests; shown in the site's local time."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from threading import Lock
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Europe/Rome"
_frozen: datetime | None = None  # the innermost freeze's moment, read by now() in every thread
# Every freeze in force, innermost last (one-item lists, so that advance() moves one): freezes entered and left
# by several threads in any order (a test and the server it drives) never leave the clock frozen behind them.
_freezes: list[list[datetime]] = []
_freezes_lock = Lock()


def now() -> datetime:
    """Return the current time in UTC (the frozen time in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze now() at a UTC time for the duration of the block."""
    entry = [as_utc(at)]
    with _freezes_lock:
        _freezes.append(entry)
        _settle()
    try:
        yield
    finally:
        with _freezes_lock:
            del _freezes[next(index for index, item in enumerate(_freezes) if item is entry)]
            _settle()


def _settle() -> None:
    global _frozen
    _frozen = _freezes[-1][0] if _freezes else None


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    with _freezes_lock:
        if not _freezes:
            raise RuntimeError("the clock is not frozen")
        _freezes[-1][0] += delta
        _settle()


def as_utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _zone_name() -> str:
    return current_app.config.get("SITE_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE


def site_zone() -> ZoneInfo:
    return ZoneInfo(_zone_name())


def to_local(moment: datetime) -> datetime:
    """Convert a stored UTC time to the site's local time."""
    return as_utc(moment).astimezone(site_zone())


def local_date(moment: datetime) -> date:
    """Return the site's calendar date at a moment."""
    return to_local(moment).date()


def today() -> date:
    """Return today's date at the site."""
    return local_date(now())


def format_local(moment: datetime | None, seconds: bool = False) -> str:
    """Render a time as the lab reads it: 2026-11-25 10:12 CET (UTC+01:00)."""
    if moment is None:
        return ""
    return _format_local(moment, seconds, _zone_name())


@lru_cache(maxsize=4096)
def _format_local(moment: datetime, seconds: bool, zone: str) -> str:
    """Write a moment in a zone, once per moment: pages show the same signing times again and again."""
    local = as_utc(moment).astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def local_from_naive(moment: datetime) -> datetime:
    """Read a naive date-time typed at the bench as site local time and return it in UTC."""
    return moment.replace(tzinfo=site_zone()).astimezone(UTC)


def local_midnight(day: date) -> datetime:
    """The UTC moment a site's local calendar day begins (a filter 'from' that day, or 'to' the day before)."""
    return local_from_naive(datetime.combine(day, datetime.min.time()))
