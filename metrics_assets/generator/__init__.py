"""Seeded synthetic generator of the ten raw sources (metrics_core/sources.py) into DuckDB.

The rows of a partition day depend only on (seed, scale_factor, launch_date, day) and the
generator config (config/world.yaml `generator:`, config/experiments.yaml), so re-generating a
day is byte-identical and a range equals the union of its single days.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from metrics_assets.generator.settings import GeneratorSettings, generator_settings
from metrics_core.experiments import ExperimentsConfig, experiments
from metrics_core.rules import metric_rules
from metrics_core.rules import world as world_cfg
from metrics_core.sources import RAW_SCHEMA, SOURCES
from resources.connections import connect_duckdb
from resources.warehouse_lock import hold

if TYPE_CHECKING:
    import duckdb

    from metrics_assets.generator.world import World

# The world (numpy) and the row builder (pandas, numpy) are imported when rows are generated, not
# here: the definitions import this package (SyntheticRawSource) and must not pay ~0.3 s for them.

log = logging.getLogger(__name__)

__all__ = [
    "LANDED_AT",
    "LATE_LANDING_SOURCES",
    "ensure_raw_tables",
    "write_partitions",
    "generate_range",
    "make_world",
    "Progress",
]

# When a generated row reaches the warehouse (SQL over the raw columns): the instant the loader
# lands it. A run with a clock (metrics_core/run_clock.py) lands only rows landed by then.
LANDED_AT: dict[str, str] = {
    "orders": "created_at",
    "payments": "paid_at",
    "refunds": "refunded_at",
    "order_costs": "recorded_at",
    "fx_rates": "cast(rate_date as timestamp) + interval 1 day",  # the day's closing rate, at midnight
    "users": "signed_up_at",
    "account_closures": "closed_at",
    "marketing_spend": "loaded_at",
    "app_events": "received_at",
    "experiment_assignments": "assigned_at",
}
# Sources with rows that belong to an earlier day's metrics but land on a later partition day
# (payments and cost lines after midnight, refunds up to refund_max_lag_days later, assignments
# minutes after a late signup) or whose rows arrive after their partition day ends (events
# received after midnight): a loader keeps landing them while the next day runs.
LATE_LANDING_SOURCES = ("payments", "refunds", "order_costs", "app_events", "experiment_assignments")


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema `raw` and the ten tables from the contract, if missing.

    No NOT NULL or key constraints: the raw layer lands whatever arrives, and the source
    contract checks (not the database) are what must catch bad rows.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for s in SOURCES.values():
        cols = ", ".join(f"{c.name} {c.type}" for c in s.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {s.table} ({cols})")


class Progress:
    """Progress of a long generation: one line per source and day at most every `every_s` seconds
    (and when a source ends, if it reported anything), with rows so far, rows/s and the ETA.

    `emit` receives each line (default: stderr). Cheap when nothing is due: a clock read per day."""

    def __init__(self, emit: Callable[[str], None] | None = None, every_s: float = 10.0) -> None:
        self.emit = emit or (lambda line: print(line, file=sys.stderr, flush=True))
        self.every_s = every_s
        self._t0 = self._last = time.perf_counter()
        self._source = ""
        self._reported = False

    def start(self, source: str) -> None:
        self._source, self._reported = source, False
        self._t0 = self._last = time.perf_counter()

    def day(self, d: date, done: int, total: int, rows: int) -> None:
        now = time.perf_counter()
        if now - self._last < self.every_s and not (done == total and self._reported):
            return
        self._last, self._reported = now, True
        dt = now - self._t0
        eta = dt / done * (total - done) if done else 0.0
        self.emit(f"generator {self._source}: day {done}/{total} ({d}) {rows:,} rows, "
                  f"{rows / dt if dt else 0:,.0f} rows/s, {dt:.0f} s elapsed, ~{eta:.0f} s left")


def _log_progress() -> Progress:
    return Progress(emit=log.info)


@lru_cache(maxsize=8)
def _cached_world(seed: int, scale_factor: float, launch_date: date) -> World:
    # deferred: the world is numpy throughout; importing the package (definitions) must stay light
    from metrics_assets.generator.world import World

    return World(seed, scale_factor, launch_date, generator_settings(), metric_rules(), experiments())


def make_world(
    *,
    scale_factor: float,
    seed: int,
    launch_date: date,
    settings: GeneratorSettings | None = None,
    experiments_config: ExperimentsConfig | None = None,
) -> World:
    """The world for these parameters (cached when it uses the config files' settings)."""
    if settings is None and experiments_config is None:
        return _cached_world(seed, float(scale_factor), launch_date)
    # deferred: the world is numpy throughout; importing the package (definitions) must stay light
    from metrics_assets.generator.world import World

    return World(
        seed,
        scale_factor,
        launch_date,
        settings or generator_settings(),
        metric_rules(),
        experiments_config or experiments(),
    )


def write_partitions(
    con: duckdb.DuckDBPyConnection,
    source: str,
    start: date,
    end: date,
    *,
    scale_factor: float,
    seed: int,
    launch_date: date,
    settings: GeneratorSettings | None = None,
    experiments_config: ExperimentsConfig | None = None,
    landed_by: datetime | None = None,
    progress: Progress | None = None,
    commit_days: int = 0,
) -> int:
    """Replace rows of raw.<source> whose partition column's UTC day is in [start, end) with freshly
    generated rows (one transaction: DELETE ... then INSERT); return rows written.

    With `landed_by` (naive UTC) only the rows that had landed by then (LANDED_AT) are kept, so a
    replayed morning run sees what that morning's run saw.

    `progress` reports long generations (default: every 10 s through this module's logger).
    `commit_days` > 0 replaces the range that many days per transaction instead: DuckDB holds a
    transaction's uncommitted rows, so one transaction over SF 10 x 30 days of events peaked at
    19.6 GB. Each day's rows come from its own seeded stream, so the rows are the same either way."""
    if source not in SOURCES:
        raise KeyError(f"unknown raw source {source!r}; known sources are {sorted(SOURCES)}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    world = make_world(
        scale_factor=scale_factor,
        seed=seed,
        launch_date=launch_date,
        settings=settings,
        experiments_config=experiments_config,
    )
    ensure_raw_tables(con)
    first = max(start, launch_date)
    total = max((end - first).days, 0)
    progress = progress or _log_progress()
    progress.start(source)
    step = timedelta(days=commit_days) if commit_days > 0 else max(end - start, timedelta(days=1))
    rows, lo = 0, start
    while lo < end:
        hi = min(lo + step, end)
        rows += _replace_range(con, world, source, lo, hi, max(lo, launch_date), landed_by, progress,
                               (max(lo, first) - first).days, total, rows)
        lo = hi
    return rows


def _replace_range(con, world, source: str, start: date, end: date, first: date, landed_by, progress,
                   done: int, total: int, rows_before: int) -> int:
    """One transaction of write_partitions: delete [start, end), insert its days from `first`."""
    # deferred: the row builder imports pandas and numpy; importing the package must stay light
    from metrics_assets.generator.sql import insert_day

    src = SOURCES[source]
    col = src.partition_column
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {src.table} WHERE {col} >= ?::DATE AND {col} < ?::DATE", [start, end])
        rows = 0
        d = first
        while d < end:
            rows += insert_day(con, world, source, d)
            done += 1
            progress.day(d, done, total, rows_before + rows)
            d += timedelta(days=1)
        if landed_by is not None:  # DuckDB returns the number of deleted rows
            late = con.execute(
                f"DELETE FROM {src.table} WHERE {col} >= ?::DATE AND {col} < ?::DATE "
                f"AND {LANDED_AT[source]} > ?",
                [start, end, landed_by],
            ).fetchone()
            rows -= int(late[0]) if late else 0
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows


# a long generation (the CLI, the benchmark) commits a week at a time: its memory is a week's rows
RANGE_COMMIT_DAYS = 7


def generate_range(
    db_path: str,
    start: date,
    end: date,
    sf: float,
    seed: int,
    launch_date: date | None = None,
    *,
    quiet: bool = False,
) -> dict[str, dict[str, float]]:
    """Generate every source for [start, end) into the DuckDB file at db_path; print and return
    rows, seconds and rows/second per source (used by the benchmark), then the total.

    Unless quiet, progress goes to stderr every 10 s on long generations (source, day, rows/s)."""
    launch = launch_date or world_cfg().launch_date
    out: dict[str, dict[str, float]] = {}
    progress = Progress(emit=(lambda line: None) if quiet else None)
    t_all = time.perf_counter()

    with hold(db_path, what="generator"), connect_duckdb(str(db_path)) as con:
        con.execute("SET enable_progress_bar = false")
        for name in SOURCES:
            t0 = time.perf_counter()
            rows = write_partitions(con, name, start, end, scale_factor=sf, seed=seed, launch_date=launch,
                                    progress=progress, commit_days=RANGE_COMMIT_DAYS)
            dt = time.perf_counter() - t0
            out[name] = {
                "rows": rows,
                "seconds": round(dt, 3),
                "rows_per_second": round(rows / dt if dt else 0),
            }
            if not quiet:
                print(
                    f"{name:24s} {rows:>10d} rows {dt:8.2f} s {out[name]['rows_per_second']:>12,.0f} rows/s",
                    flush=True,
                )
    if not quiet:
        total, dt = sum(int(v["rows"]) for v in out.values()), time.perf_counter() - t_all
        print(f"{'total':24s} {total:>10d} rows {dt:8.2f} s {total / dt if dt else 0:>12,.0f} rows/s")
    return out
