"""How many days one `dbt run` may cover: a long window built a chunk at a time, oldest first.

Why: the heaviest model deduplicates every raw event of its window in one statement. At SF 10 x
30 days (207 M events) with DuckDB capped at 5 GB, its spill outgrew ~40 GB of free disk
(BENCHMARKS.md, run 6). Every date-grained model is day-local and replaces exactly its window,
so consecutive sub-windows in order build the same tables as one window
(tests/test_dbt_idempotence.py: 30 one-day runs equal one 30-day run), with memory and spill
bounded by a chunk plus its lookback (each chunk also recomputes the lookback days before it, so
chunks much shorter than the lookback mostly redo work).

METRICS_DBT_MAX_WINDOW_DAYS (a positive integer) turns it on; unset or 0 builds the whole window
in one `dbt build`, as before. It is machine sizing, like METRICS_DUCKDB_MEMORY_LIMIT, not a rule.
"""

import os
from collections.abc import Mapping
from datetime import date, timedelta

MAX_WINDOW_ENV = "METRICS_DBT_MAX_WINDOW_DAYS"


def max_window_days(env: Mapping[str, str] | None = None) -> int:
    """The configured chunk length in days; 0 = no chunking. A malformed value is refused."""
    raw = (os.environ if env is None else env).get(MAX_WINDOW_ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValueError(
            f"{MAX_WINDOW_ENV}={raw!r} is not a whole number of days (e.g. 7, or 0 for no chunking)"
        )
    return int(raw)


def window_chunks(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """[start, end) as consecutive [lo, hi) windows of at most `max_days` days (one when 0)."""
    if max_days <= 0 or (end - start).days <= max_days:
        return [(start, end)]
    out, lo = [], start
    while lo < end:
        hi = min(lo + timedelta(days=max_days), end)
        out.append((lo, hi))
        lo = hi
    return out
