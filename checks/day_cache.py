"""ops.check_day_cache: per-day results of a costly check query, kept while the day's input is unchanged.

Why: a gate judging one day against a same-weekday baseline (~36 days) recomputed every baseline
day from raw on every run and in every publish step (the app_events counts: dedup and bot flags
of every event, ~6 s at SF 0.5). A value that depends only on its own day's input rows can be
kept. Each evaluation fingerprints every day of its window (row count and sum of a row hash: one
plain scan), reuses a kept value whose fingerprint and rule key still match, and computes only
the other days. A late record, a restatement or an injected fault changes the day's fingerprint,
so that day is computed again; a changed rule or query changes the key, so every day is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from checks.core import EvalContext, to_date
from checks.sql import ts

TABLE = "ops.check_day_cache"
DDL = f"""
create table if not exists {TABLE} (
    name varchar, rule_key varchar, day date, fingerprint varchar, payload varchar, computed_at timestamp
)
"""


def rule_key(*parts: Any) -> str:
    """A short key for everything besides the input rows that a kept value depends on (the query
    text, its parameters, the columns it counts)."""
    return hashlib.sha1(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:16]


def day_fingerprints(
    ctx: EvalContext, table: str, time_column: str, columns: Iterable[str], start: date, end: date
) -> dict[date, str]:
    """Per day of [start, end) with rows: "count:sum of hash(columns)" (portable: DuckDB and
    Snowflake both have a variadic hash and sum it without overflow)."""
    cols = ", ".join(columns)
    rows = ctx.by_day(
        f"select cast({time_column} as date) as day, "
        f"cast(count(*) as varchar) || ':' || cast(sum(hash({cols})) as varchar) as fp "
        f"from {table} where {time_column} >= ? and {time_column} < ? group by 1",
        [ts(start), ts(end)],
    )
    return {d: str(r["fp"]) for d, r in rows.items()}


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, last + 1) ranges, for a query's pruning predicate."""
    out: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if out and out[-1][1] == d:
            out[-1] = (out[-1][0], d + timedelta(days=1))
        else:
            out.append((d, d + timedelta(days=1)))
    return out


def _plain(v: Any) -> Any:
    """numpy scalars and timestamps as JSON values."""
    return v.item() if hasattr(v, "item") else str(v)


def per_day(
    ctx: EvalContext,
    name: str,
    key: str,
    fingerprints: dict[date, str],
    compute: Callable[[list[date]], dict[date, dict[str, Any]]],
    *,
    chunk_days: int = 0,
) -> dict[date, dict[str, Any]]:
    """The rows of every fingerprinted day: kept ones whose fingerprint matches, the rest from
    `compute(days)`, which are then kept. Values come back as JSON types either way, so a kept
    and a computed day read the same. `chunk_days` > 0 computes the missing days that many at a
    time, each chunk kept as soon as it is computed: the query's memory is bounded by a chunk,
    not the window, and an interrupted evaluation keeps what it finished."""
    if not fingerprints:
        return {}
    days = sorted(fingerprints)
    with ctx.warehouse.connect() as con:
        con.cursor().execute("create schema if not exists ops")
        con.cursor().execute(DDL)
    kept_rows = ctx.df(
        f"select day, fingerprint, payload from {TABLE} where name = ? and rule_key = ? "
        f"and day >= ? and day <= ?",
        [name, key, days[0], days[-1]],
    )
    kept: dict[date, dict[str, Any]] = {}
    for r in kept_rows.to_dict("records"):
        d = to_date(r["day"])
        if fingerprints.get(d) == r["fingerprint"]:
            kept[d] = json.loads(r["payload"])
    missing = [d for d in days if d not in kept]
    step = chunk_days if chunk_days > 0 else max(len(missing), 1)
    fresh: dict[date, dict[str, Any]] = {}
    for i in range(0, len(missing), step):
        chunk = missing[i : i + step]
        got = {
            d: json.loads(json.dumps(row, default=_plain)) for d, row in compute(chunk).items() if d in chunk
        }
        _keep(ctx, name, key, chunk, {d: (fingerprints[d], v) for d, v in got.items()})
        fresh.update(got)
    return {**kept, **fresh}


def _keep(ctx: EvalContext, name: str, key: str, days: list[date], rows: dict[date, tuple[str, Any]]) -> None:
    """Replace the kept rows of `days` (a day without a computed row is only deleted)."""
    values = [(name, key, d, fp, json.dumps(v, sort_keys=True), ctx.now) for d, (fp, v) in rows.items()]
    marks = ", ".join(["?"] * len(days))  # the checks' parameter style (checks/core.py EvalContext.df)
    with ctx.warehouse.connect() as con:
        cur = con.cursor()
        cur.execute(
            f"delete from {TABLE} where name = ? and rule_key = ? and day in ({marks})", [name, key, *days]
        )
        if values:
            cur.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?)", values)
