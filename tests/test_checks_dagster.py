"""The catalogue as Dagster asset checks: metadata, range evaluation, history, blocking semantics."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from checks.registry import catalogue
from metrics_assets.asset_checks import build_asset_check, build_asset_checks
from metrics_assets.orchestration.partitions import DAILY
from tests.test_checks_detect import DAY, crafted, fault, world_copy

ASSET_CHECKS = build_asset_checks()


def _stub(key: list[str], deps: list[list[str]] | None = None) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(key),
        partitions_def=DAILY,
        deps=[dg.AssetKey(d) for d in deps or []],
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _a() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    return _a


def _range_tags(start: date, end: date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": str(start), "dagster/asset_partition_range_end": str(end)}


def test_every_catalogue_check_is_an_asset_check_with_runbook_metadata():
    specs = {s.key.to_user_string(): s for c in ASSET_CHECKS for s in c.check_specs}
    assert len(specs) == len(catalogue().checks) == 48
    for c in catalogue().checks:
        spec = specs[c.key]
        assert spec.metadata["failure_mode"] == c.failure_mode
        url = spec.metadata["runbook"].url
        assert url.endswith(f"/runbooks/{c.pipeline}.md#{c.failure_mode}") and "://" in url
        assert spec.metadata["severity"] == c.severity.value
        if c.is_raw:
            assert not spec.blocking, f"{c.key}: raw checks must not block (fail-open experiment models)"
        if c.severity.value == "ERROR" and not c.is_raw and c.is_investor:
            assert spec.blocking, f"{c.key}: ERROR checks on investor marts must block"
        if not c.is_investor:
            assert not spec.blocking, f"{c.key}: experiment pipelines fail open"


def test_range_run_fails_naming_the_day_and_writes_history(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    fault("zero_rows", table="orders")(wh)
    check = build_asset_check(catalogue().get("raw/orders", "orders_volume_vs_weekday_baseline"))
    start, end = DAY - timedelta(days=2), DAY + timedelta(days=2)
    res = dg.materialize(
        [_stub(["raw", "orders"]), check],
        resources={"warehouse": wh},
        tags=_range_tags(start, end),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert res.success  # raw checks never fail the run
    [ev] = res.get_asset_check_evaluations()
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
    meta = {k: getattr(v, "value", v) for k, v in ev.metadata.items()}
    assert meta["failed_days"] == str(DAY) and meta["days_evaluated"] == 5
    assert meta["failure_mode"] == "profit-transactions-missing"
    assert {"value", "baseline", "threshold"} <= set(meta)
    hist = wh.query_df("select partition_day, status, run_id from ops.check_history order by partition_day")
    assert len(hist) == 5 and set(hist["run_id"]) == {res.run_id}
    assert list(hist.loc[hist["status"] == "fail", "partition_day"].astype(str)) == [str(DAY)]


@pytest.mark.parametrize("blocking_case", [True, False])
def test_blocking_only_for_investor_error_checks(tmp_path: Path, blocking_case: bool):
    wh = world_copy(tmp_path / "w.duckdb")
    if blocking_case:  # fct_order_profit:order_id_unique (ERROR, investor) blocks its downstream
        crafted(
            "insert into marts.fct_order_profit select * from marts.fct_order_profit "
            f"where order_date = DATE '{DAY}' limit 1"
        )(wh)
        key, check = ["fct_order_profit"], catalogue().get("fct_order_profit", "order_id_unique")
    else:  # a failing raw ERROR check does not stop the dbt models or anything else
        fault("zero_rows", table="orders")(wh)
        key, check = ["raw", "orders"], catalogue().get("raw/orders", "orders_volume_vs_weekday_baseline")
    up, down = _stub(key), _stub(["downstream"], deps=[key])
    res = dg.materialize(
        [up, down, build_asset_check(check)],
        resources={"warehouse": wh},
        partition_key=str(DAY),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    [ev] = res.get_asset_check_evaluations()
    assert not ev.passed
    downstream_done = dg.AssetKey(["downstream"]) in {
        m.asset_key
        for m in res.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }
    assert downstream_done is (not blocking_case)
    assert res.success is (not blocking_case)


def test_checks_run_in_one_step_per_pipeline_and_layer():
    """48 checks in 9 steps (a pipeline's raw-source checks, its model checks), not 48 steps."""
    names = sorted(c.node_def.name for c in ASSET_CHECKS)
    assert len(names) == 9 and "profit_agg__raw_checks" in names and "profit_agg__models_checks" in names
    cat = catalogue()
    for c in ASSET_CHECKS:
        assert len({cat.get(k.asset_key.to_user_string(), k.name).pipeline for k in c.check_keys}) == 1


def test_a_subset_launch_evaluates_only_the_selected_checks(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    step = next(c for c in ASSET_CHECKS if c.node_def.name == "profit_agg__raw_checks")
    assert len(step.check_keys) > 3
    wanted = dg.AssetCheckKey(dg.AssetKey(["raw", "orders"]), "orders_volume_vs_weekday_baseline")
    res = dg.materialize(
        [_stub(list(a.path)) for a in {k.asset_key for k in step.check_keys}] + [step],
        selection=dg.AssetSelection.assets(wanted.asset_key).without_checks()
        | dg.AssetSelection.checks(wanted),
        resources={"warehouse": wh},
        partition_key=str(DAY),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert [e.asset_check_key for e in res.get_asset_check_evaluations()] == [wanted]
