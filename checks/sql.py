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


def regex_search(expr: str, backend: str) -> str:
    """Case-insensitive regex match of `expr` against a bound pattern parameter (dbt's regex_search
    macro): DuckDB regexp_matches, Snowflake REGEXP_INSTR (which, unlike REGEXP_LIKE, does not anchor)."""
    if backend == "duckdb":
        return f"coalesce(regexp_matches({expr}, ?, 'i'), false)"
    return f"coalesce(regexp_instr({expr}, ?, 1, 1, 0, 'i') > 0, false)"


def portable_regex(pattern: str, backend: str) -> str:
    """The pattern as the backend accepts it (Snowflake's POSIX regexes have no (?:...) groups)."""
    return pattern if backend == "duckdb" else pattern.replace("(?:", "(")
