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


def test_a_long_window_built_a_chunk_at_a_time_equals_one_build(small_world, tmp_path, monkeypatch):
    """METRICS_DBT_MAX_WINDOW_DAYS (metrics_core/dbt_chunks.py): a 10-day range at 8 days a chunk
    becomes two `dbt run`s, oldest first, and one `dbt test` of the whole range. After the same
    changes to raw in each chunk, the marts equal those of one `dbt build`, and the same dbt tests
    report. The first day is rebuilt by the first chunk only (the second reaches back 7 days, the
    lookback), so a chunk skipped or built with the wrong window shows in fct_events."""
    lo, hi = date(2026, 9, 1), date(2026, 9, 10)
    results, marts = {}, {}
    for name, chunk in (("one", ""), ("chunked", "8")):
        path = copy_world(small_world, tmp_path / f"{name}.duckdb")
        with duckdb.connect(str(path)) as con:
            # a fifth of the events lost on a day only the first chunk rebuilds and on the last day
            con.execute(
                "delete from raw.app_events where cast(event_time as date) in "
                "('2026-09-01', '2026-09-10') and hash(event_id) % 5 = 0"
            )
        defs = definitions(path)
        repo = defs.get_repository_def()
        dbt_keys = [k for k, a in repo.assets_defs_by_key.items() if a.op.name == "metrics_dbt_models"]
        monkeypatch.setenv("METRICS_DBT_MAX_WINDOW_DAYS", chunk)
        instance = dg.DagsterInstance.ephemeral()
        res = run_range(defs, instance, lo, hi, selection=dbt_keys)
        dbt_step = [e for e in res.all_events if e.step_key == "metrics_dbt_models"]
        assert any(e.is_step_success for e in dbt_step), name
        results[name] = {
            "checks": sorted(
                (e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name)
                for e in dbt_step
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
            ),
            "chunks": [r.user_message for r in instance.all_logs(res.run_id) if "chunk" in r.user_message],
        }
        marts[name] = _mart_fingerprints(path)
    before = _mart_fingerprints(small_world.path)
    assert marts["one"]["fct_events"] != before["fct_events"]  # the lost events showed
    assert marts["chunked"] == marts["one"]
    assert results["chunked"]["checks"] == results["one"]["checks"] and results["one"]["checks"]
    assert results["one"]["chunks"] == []
    assert [m.split(":")[0] for m in results["chunked"]["chunks"]] == [
        "dbt run 2026-09-01..2026-09-09 (exclusive), chunk 1 of 2",
        "dbt run 2026-09-09..2026-09-11 (exclusive), chunk 2 of 2",
    ]
