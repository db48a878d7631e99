"""Small SQL helpers shared by the check modules (portable DuckDB/Snowflake SQL)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def ts(d: date) -> datetime:
    """Midnight UTC of a day, as a naive timestamp parameter (raw timestamps are naive UTC)."""
    return datetime.combine(d, time())


def window(days: list[date], back: int = 0, ahead: int = 0) -> tuple[datetime, datetime]:
    """[first day - back, last day + 1 + ahead) as timestamp parameters."""
    return ts(min(days) - timedelta(days=back)), ts(max(days) + timedelta(days=1 + ahead))


def dwindow(days: list[date], back: int = 0) -> tuple[date, date]:
    """[first day - back, last day + 1) as date parameters."""
    return min(days) - timedelta(days=back), max(days) + timedelta(days=1)


def in_list(values: list[str]) -> str:
    """A SQL IN-list of string literals from config (quotes escaped)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"
