"""The synthetic raw layer lands what had landed by the run clock, as a running loader leaves it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from metrics_assets.generator import LANDED_AT, LATE_LANDING_SOURCES
from metrics_assets.generator.landing import SyntheticRawSource
from metrics_core.sources import SOURCES
from resources.warehouse import Warehouse

DAY = date(2026, 10, 1)
SF = 0.02


def _land(tmp_path: Path, source: str, now: datetime | None) -> duckdb.DuckDBPyConnection:
    path = tmp_path / f"{source}-{now:%H%M}.duckdb" if now else tmp_path / f"{source}.duckdb"
    wh = Warehouse(backend="duckdb", duckdb_path=str(path))
    SyntheticRawSource(scale_factor=SF).land(wh, SOURCES[source], DAY, DAY + timedelta(days=1), now=now)
    return duckdb.connect(str(path), read_only=True)


def _by_partition(con, source: str) -> dict[date, tuple[int, datetime]]:
    src = SOURCES[source]
    rows = con.execute(
        f"select cast({src.partition_column} as date), count(*), max({LANDED_AT[source]}) "
        f"from {src.table} group by 1"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_the_next_partition_holds_the_late_rows_landed_by_then(tmp_path: Path):
    """At 02:00 the next morning: the day's cost lines are all there, and of the next day's
    partition the lines recorded before 02:00 (late lines of the evening's orders), no later."""
    two_am = datetime(2026, 10, 2, 2)
    parts = _by_partition(_land(tmp_path, "order_costs", two_am), "order_costs")
    full = _by_partition(_land(tmp_path, "order_costs", None), "order_costs")
    assert parts[DAY] == full[DAY]  # the day itself is complete
    assert DAY + timedelta(days=1) not in full  # without a clock: the window only
    n, newest = parts[DAY + timedelta(days=1)]
    assert n > 0 and newest <= two_am
    six_am = _by_partition(_land(tmp_path, "order_costs", datetime(2026, 10, 2, 6)), "order_costs")
    assert six_am[DAY + timedelta(days=1)][0] > n  # more had landed by 06:00


def test_rows_not_landed_by_the_clock_are_not_there(tmp_path: Path):
    noon = datetime(2026, 10, 1, 12)
    parts = _by_partition(_land(tmp_path, "orders", noon), "orders")
    full = _by_partition(_land(tmp_path, "orders", None), "orders")
    assert list(parts) == [DAY]  # orders are not a late-landing source: no next partition
    assert 0 < parts[DAY][0] < full[DAY][0] and parts[DAY][1] <= noon
    # marketing spend of a day is loaded the next morning (03:00-03:30): not there at 02:00
    spend = _by_partition(_land(tmp_path, "marketing_spend", datetime(2026, 10, 2, 2)), "marketing_spend")
    assert spend == {}
    spend = _by_partition(_land(tmp_path, "marketing_spend", datetime(2026, 10, 2, 6)), "marketing_spend")
    assert spend[DAY][0] > 0


def test_late_landing_sources_are_the_ones_with_rows_after_their_origin_day():
    assert set(LATE_LANDING_SOURCES) <= set(SOURCES)
    assert {"payments", "refunds", "order_costs"} <= set(LATE_LANDING_SOURCES)
    assert set(LANDED_AT) == set(SOURCES)
