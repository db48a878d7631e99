"""Fail-closed publication: a failed day never reaches (or overwrites) an investor table."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from checks.registry import catalogue
from metrics_assets.publication.publish import GATE_CHECK, build_publish_assets, publish_table
from metrics_core.config import pipeline_config
from tests.test_checks_detect import DAY, fault, world_copy

DAYS = [DAY - timedelta(days=2), DAY - timedelta(days=1), DAY]
NOW = datetime.combine(DAY + timedelta(days=1), datetime.min.time()) + timedelta(hours=7)
APPROVER = "AM"  # config/team.yaml approvers
PUBLISH_ASSETS = build_publish_assets(pipeline_config(), catalogue())


def _published(wh, table: str = "profit_daily") -> dict:
    df = wh.query_df(f"select order_date, profit_usd, _published_run_id, _approved_by from investor.{table}")
    return {r["order_date"]: r for r in df.to_dict("records")}


def test_clean_days_are_published_with_their_run(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    rep = publish_table(wh, "profit_daily", DAYS, run_id="run-1", now=NOW)
    assert sorted(rep.published) == DAYS and not rep.refused and not rep.pending
    pub = _published(wh)
    model = wh.query_df(
        "select order_date, profit_usd from marts.agg_profit_daily where order_date in (?, ?, ?)", DAYS
    )
    assert {r["order_date"]: float(r["profit_usd"]) for r in model.to_dict("records")} == {
        d: float(r["profit_usd"]) for d, r in pub.items()
    }
    assert {r["_published_run_id"] for r in pub.values()} == {"run-1"}
    log = wh.query_df("select action, count(*) as n from ops.publication_log group by 1")
    assert dict(zip(log["action"], log["n"], strict=True)) == {"published": 3}


def test_failed_day_is_refused_and_keeps_the_previous_publication(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    publish_table(wh, "profit_daily", DAYS, run_id="run-1", now=NOW)
    before = _published(wh)[DAY]["profit_usd"]
    fault("missing_costs_region")(wh)  # profit inflated on DAY: cost coverage (ERROR) fails
    wh.execute("update marts.agg_profit_daily set profit_usd = profit_usd + 999 where order_date = ?", [DAY])
    rep = publish_table(wh, "profit_daily", DAYS, run_id="run-2", now=NOW)
    assert DAY in rep.refused and "cost_coverage_per_region" in rep.refused[DAY]
    assert DAY in rep.blocking
    assert sorted(rep.published) == DAYS[:2]
    pub = _published(wh)
    assert pub[DAY]["profit_usd"] == before and pub[DAY]["_published_run_id"] == "run-1"
    hist = wh.query_df(
        "select count(*) as n from ops.check_history where run_id = 'run-2' and status = 'fail'"
    )
    assert int(hist["n"].iloc[0]) >= 1  # the audit was recorded


def test_first_publication_of_a_failed_day_never_happens(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    fault("zero_rows", table="orders")(wh)
    rep = publish_table(wh, "profit_daily", DAYS, run_id="run-1", now=NOW)
    assert DAY in rep.refused and "orders_volume_vs_weekday_baseline" in rep.refused[DAY]
    assert DAY not in _published(wh)


def test_closed_period_needs_a_listed_approver(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    publish_table(wh, "profit_daily", DAYS, run_id="run-1", now=NOW)
    later = NOW + timedelta(days=40)  # next month and beyond the 7-day lookback
    rep = publish_table(wh, "profit_daily", DAYS, run_id="run-2", now=later)
    assert not rep.published and all("approved_by" in why for why in rep.refused.values())
    for bad, says in ((" ", "is blank"), ("detection-matrix", "is not one of config/team.yaml approvers")):
        rep = publish_table(wh, "profit_daily", DAYS, run_id="run-x", now=later, approved_by=bad)
        assert not rep.published, bad
        assert all("approved_by" in why and says in why for why in rep.refused.values()), rep.refused
    rep = publish_table(wh, "profit_daily", DAYS, run_id="run-3", now=later, approved_by=APPROVER)
    assert sorted(rep.published) == DAYS
    assert {r["_approved_by"] for r in _published(wh).values()} == {APPROVER}


def test_month_is_the_sum_of_its_published_days(tmp_path: Path):
    """The month is aggregated from the PUBLISHED days: a refused day keeps its published value
    in the month too, and a tampered monthly mart never reaches investors."""
    wh = world_copy(tmp_path / "w.duckdb")
    month = DAY.replace(day=1)
    so_far = [month + timedelta(days=i) for i in range((DAY - month).days + 1)]
    rep = publish_table(wh, "profit_monthly", so_far, run_id="run-0", now=NOW)
    assert month in rep.refused and "not published in investor.profit_daily" in rep.refused[month]
    publish_table(wh, "profit_daily", so_far, run_id="run-1", now=NOW)
    rep = publish_table(wh, "profit_monthly", so_far, run_id="run-1", now=NOW)
    assert rep.published == [month]

    def month_vs_days() -> tuple[float, float]:
        m = wh.query_df("select profit_usd, days_reported from investor.profit_monthly").iloc[0]
        d = wh.query_df("select sum(profit_usd) as s, count(*) as n from investor.profit_daily").iloc[0]
        assert int(m["days_reported"]) == int(d["n"]) == len(so_far)
        return float(m["profit_usd"]), float(d["s"])

    published, days_sum = month_vs_days()
    assert published == pytest.approx(days_sum, abs=1e-6)
    fault("fx_gap", day=DAY - timedelta(days=1))(wh)
    wh.execute("update marts.agg_profit_monthly set profit_usd = profit_usd + 999")
    wh.execute(
        "update marts.agg_profit_daily set profit_usd = profit_usd + 5 where order_date = ?",
        [DAY - timedelta(days=1)],
    )
    rep = publish_table(wh, "profit_daily", [DAY - timedelta(days=1)], run_id="run-2", now=NOW)
    assert "fx_rate_coverage" in rep.refused[DAY - timedelta(days=1)]
    rep = publish_table(wh, "profit_monthly", [DAY - timedelta(days=1)], run_id="run-2", now=NOW)
    assert rep.unchanged == [month] and not rep.published
    assert month_vs_days() == (published, days_sum)


def test_publish_assets_are_investor_keys_in_their_pipeline_group():
    keys = {a.key.to_user_string(): a for a in PUBLISH_ASSETS}
    assert {
        "investor/profit_daily",
        "investor/growth_daily",
        "investor/engagement_daily",
        "investor/retention_cohorts",
        "investor/profit_monthly",
    } <= set(keys)
    a = keys["investor/profit_daily"]
    assert a.group_names_by_key[a.key] == "profit_agg"
    deps = {k.to_user_string() for k in a.asset_deps[a.key]}
    assert {"agg_profit_daily", "fct_order_profit"} <= deps
    # periods are aggregated from the published days, so they come after the daily table
    for period, daily in (
        ("profit_monthly", "profit_daily"),
        ("profit_quarterly", "profit_daily"),
        ("growth_monthly", "growth_daily"),
    ):
        p = keys[f"investor/{period}"]
        assert {k.to_user_string() for k in p.asset_deps[p.key]} == {f"investor/{daily}"}
    # each investor table has its publication gate as a check of its own
    for a in PUBLISH_ASSETS:
        assert {k.name for k in a.check_keys} == {GATE_CHECK}


@pytest.mark.parametrize("broken", [False, True])
def test_publish_asset_in_a_run(tmp_path: Path, broken: bool):
    from metrics_assets.orchestration.partitions import DAILY
    from metrics_core.run_clock import RUN_CLOCK_TAG

    wh = world_copy(tmp_path / "w.duckdb")
    if broken:
        fault("zero_rows", table="orders")(wh)
    asset = next(a for a in PUBLISH_ASSETS if a.key.to_user_string() == "investor/profit_daily")
    stubs = []
    for dep in asset.asset_deps[asset.key]:

        @dg.asset(key=dep, partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
        def _stub() -> dg.MaterializeResult:
            return dg.MaterializeResult()

        stubs.append(_stub)
    res = dg.materialize(
        [*stubs, asset],
        resources={"warehouse": wh},
        partition_key=str(DAY),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        selection=[asset.key],
        tags={RUN_CLOCK_TAG: f"{NOW:%Y-%m-%dT%H:%M:%S}Z"},
    )
    assert res.success is (not broken)
    published = wh.query_df("select count(*) as n from investor.profit_daily where order_date = ?", [DAY])
    assert int(published["n"].iloc[0]) == (0 if broken else 1)
    # the publication audit is a check of its own: its result says what was refused and why
    (gate,) = [e for e in res.get_asset_check_evaluations() if e.check_name == GATE_CHECK]
    assert gate.passed is (not broken)
    assert gate.metadata["refused_units"].value == (1 if broken else 0)
    if broken:
        assert "orders_volume_vs_weekday_baseline" in gate.description


def _drift(wh, column: str) -> dict:
    df = wh.query_df(
        "select rel_diff, late_delta, net_rel_diff, breached from ops.publication_drift "
        "where investor_table = 'investor.profit_daily' and unit = ? and column_name = ?",
        [DAY, column],
    )
    (row,) = df.to_dict("records")
    return row


def test_accuracy_slo_judges_drift_net_of_late_refunds(tmp_path: Path):
    """A refund landing after publication restates refunds and profit (recorded drift) without
    breaching the accuracy SLO; a cost moving after publication (a cost-table or FX fault)
    breaches it."""
    wh = world_copy(tmp_path / "w.duckdb")
    publish_table(wh, "profit_daily", DAYS, run_id="run-1", now=NOW)
    first = float(_published(wh)[DAY]["profit_usd"])
    late_refund = 0.2 * abs(first)  # far above the 0.5 pp SLO
    wh.execute(
        "update marts.agg_profit_daily set refunds_usd = refunds_usd + ?, profit_usd = profit_usd - ? "
        "where order_date = ?",
        [late_refund, late_refund, DAY],
    )
    publish_table(wh, "profit_daily", DAYS, run_id="run-2", now=NOW + timedelta(hours=1))
    profit = _drift(wh, "profit_usd")
    assert profit["rel_diff"] == pytest.approx(late_refund / abs(first - late_refund))
    assert profit["late_delta"] == pytest.approx(-late_refund)
    assert profit["net_rel_diff"] == pytest.approx(0.0, abs=1e-9) and not profit["breached"]
    refunds = _drift(wh, "refunds_usd")
    assert refunds["rel_diff"] > 0 and not refunds["breached"]
    assert refunds["net_rel_diff"] == pytest.approx(0.0)

    wh.execute(
        "update marts.agg_profit_daily set cost_usd = cost_usd * 1.05, "
        "profit_usd = revenue_usd - refunds_usd - cost_usd * 1.05 where order_date = ?",
        [DAY],
    )
    publish_table(wh, "profit_daily", DAYS, run_id="run-3", now=NOW + timedelta(hours=2))
    assert _drift(wh, "cost_usd")["breached"]
    profit = _drift(wh, "profit_usd")
    assert profit["net_rel_diff"] > 0.005 and profit["breached"]
