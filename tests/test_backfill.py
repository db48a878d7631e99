"""A range backfill is one run with one `dbt build`; re-materializing a partition is byte-stable."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg
import duckdb

from metrics_assets.orchestration.partitions import days_in, partition_key
from tests.world import copy_world, definitions, run_range


def _mart_fingerprints(path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()]
        return {t: tuple(con.execute(f"select count(*), sum(hash(x))::varchar from marts.{t} x").fetchone())
                for t in tables}
    finally:
        con.close()


def test_range_backfill_is_one_run_and_one_dbt_invocation(small_world):
    key = dg.AssetKey(["agg_profit_daily"])
    days = days_in(small_world.start, date.fromordinal(small_world.end.toordinal() + 1))
    assert len(days) >= 30
    assert set(small_world.instance.get_materialized_partitions(key)) >= {partition_key(d) for d in days}
    runs = {
        small_world.instance.get_latest_materialization_event(key).run_id,
        *(r.event_log_entry.run_id for r in small_world.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=1000).records),
    }
    assert len(runs) == 1, f"{len(days)} partitions were materialized by {len(runs)} runs"
    con = duckdb.connect(str(small_world.path), read_only=True)
    try:
        windows = con.execute(
            "select window_start, window_end from ops.asset_runs where asset_key = 'agg_profit_daily'"
        ).fetchall()
    finally:
        con.close()
    # one dbt invocation covered the whole window (window_end is exclusive)
    assert windows == [(small_world.start, days[-1].fromordinal(days[-1].toordinal() + 1))]


def test_rematerializing_a_partition_is_identical(small_world, tmp_path):
    path = copy_world(small_world, tmp_path / "copy.duckdb")
    before = _mart_fingerprints(path)
    assert before["agg_profit_daily"][0] > 30
    defs = definitions(path)
    day = date(2026, 9, 5)
    res = run_range(defs, dg.DagsterInstance.ephemeral(), day, day)
    assert res.get_step_success_events(), "the re-run did nothing"
    leaked = sorted(k for k in os.environ if k.startswith("METRICS_DBT_M"))
    assert not leaked, f"the dbt step left its window in this process's environment: {leaked}"
    after = _mart_fingerprints(path)
    changed = {t: (before[t], after.get(t)) for t in before if after.get(t) != before[t]}
    assert not changed, f"re-materializing {day} changed: {changed}"
