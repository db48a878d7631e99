"""Publication fails closed at every edge: days not over, gates that cannot be evaluated, inputs
still landing, late refunds into closed periods, approvers, and refusals whatever step stopped it.

Most cases audit and publish straight from a copy of the small clean world of
tests/test_checks_detect.py (generated raw + dbt marts, SF 0.02, 2025-01-08..2025-04-30) with an
explicit clock; the Dagster cases run the real assets with the run-clock tag.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from metrics_assets.publication.publish import publish_table
from metrics_core.run_clock import RUN_CLOCK_TAG, RunClockError, incomplete_days, now_from_tags, parse_now
from tests.test_checks_detect import DAY, fault, world_copy

NOW = datetime.combine(DAY + timedelta(days=1), datetime.min.time()) + timedelta(hours=7)


def _at(d: date, hour: int) -> datetime:
    return datetime.combine(d, datetime.min.time()) + timedelta(hours=hour)


def _tag(t: datetime) -> dict[str, str]:
    return {RUN_CLOCK_TAG: f"{t:%Y-%m-%dT%H:%M:%S}Z"}


def _log(wh, table: str, run_id: str) -> dict[date, tuple[str, str]]:
    df = wh.query_df(
        "select unit, action, reason from ops.publication_log where investor_table = ? and run_id = ?",
        [f"investor.{table}", run_id],
    )
    return {
        r["unit"].date() if hasattr(r["unit"], "date") else r["unit"]: (r["action"], r["reason"])
        for r in df.to_dict("records")
    }


def _value(wh, table: str, col: str, day_col: str, d: date) -> float | None:
    exists = wh.query_df(
        "select count(*) as n from information_schema.tables where table_schema = 'investor' "
        "and table_name = ?",
        [table],
    )
    if not int(exists["n"].iloc[0]):
        return None
    df = wh.query_df(f"select {col} as v from investor.{table} where {day_col} = ?", [d])
    return None if df.empty else float(df["v"].iloc[0])


# ------------------------------------------------------------------------------ run clock


def test_run_clock_tag():
    assert parse_now("2026-10-02T06:00:00Z") == datetime(2026, 10, 2, 6)
    assert parse_now("2026-10-02T11:30:00+05:30") == datetime(2026, 10, 2, 6)
    assert now_from_tags({RUN_CLOCK_TAG: "2026-10-02T06:00:00Z"}) == datetime(2026, 10, 2, 6)
    for bad in ("", " ", "yesterday"):
        with pytest.raises(RunClockError, match=RUN_CLOCK_TAG):
            parse_now(bad)
    now = datetime(2026, 10, 2, 6)
    assert incomplete_days([date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 9)], now) == [
        date(2026, 10, 2),
        date(2026, 10, 9),
    ]


# ------------------------------------------------------------------------------ days not over


def test_today_and_future_days_are_refused_naming_the_day(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    today, future = DAY + timedelta(days=1), DAY + timedelta(days=5)
    rep = publish_table(wh, "profit_daily", [DAY, today], run_id="r1", now=NOW)
    assert rep.published == [DAY]
    assert today in rep.refused and str(today) in rep.refused[today] and "not over yet" in rep.refused[today]
    assert today in rep.blocking
    rep = publish_table(wh, "engagement_daily", [future], run_id="r2", now=NOW)
    assert not rep.published and str(future) in rep.refused[future]
    assert _log(wh, "engagement_daily", "r2")[future][0] == "refused"
    assert _value(wh, "profit_daily", "orders", "order_date", today) is None


def test_raw_and_dbt_steps_refuse_a_day_not_over_and_log_the_stopped_publication(tmp_path: Path):
    """The whole daily job for today: every raw step refuses naming the day, nothing is built,
    and the failure hook logs the refusal of every investor table the run would have published."""
    from tests.world import definitions, range_tags

    path = tmp_path / "w.duckdb"
    wh = world_copy(path)
    defs = definitions(path)
    today = DAY + timedelta(days=1)
    res = defs.resolve_job_def("all_pipelines").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={**range_tags(today, today), **_tag(NOW)},
        raise_on_error=False,
    )
    assert not res.success
    failures = {
        e.step_key: e.event_specific_data.error.message
        for e in res.all_events
        if e.event_type_value == "STEP_FAILURE"
    }
    assert "raw__orders" in failures and str(today) in failures["raw__orders"]
    assert "metrics_dbt_models" not in failures  # skipped, never built
    refused = wh.query_df(
        "select distinct investor_table, unit, reason from ops.publication_log where run_id = ? "
        "and action = 'refused'",
        [res.run_id],
    )
    assert {"investor.profit_daily", "investor.engagement_daily", "investor.growth_daily"} <= set(
        refused["investor_table"]
    )
    assert refused["reason"].str.contains(str(today)).all()
    # the dbt asset refuses on its own too (selected without the raw layer)
    dbt_key = dg.AssetKey(["agg_profit_daily"])
    res = (
        defs.resolve_job_def("all_pipelines")
        .get_subset(asset_selection={dbt_key})
        .execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={**range_tags(today, today), **_tag(NOW)},
            raise_on_error=False,
        )
    )
    (msg,) = [
        e.event_specific_data.error.message for e in res.all_events if e.event_type_value == "STEP_FAILURE"
    ]
    assert "dbt build" in msg and str(today) in msg


# ------------------------------------------------------------------------------ gates that cannot judge


def test_a_gate_that_cannot_be_evaluated_blocks_publication(tmp_path: Path):
    """Two weeks into the world the baselines have too little history: the volume gates skip,
    and a skipped ERROR gate refuses the day (even an empty orders day) instead of passing it."""
    wh = world_copy(tmp_path / "w.duckdb")
    early = date(2025, 1, 21)
    fault("zero_rows", day=early, table="orders")(wh)
    rep = publish_table(wh, "profit_daily", [early], run_id="r1", now=_at(early + timedelta(days=1), 7))
    assert not rep.published and early in rep.blocking
    why = rep.refused[early]
    assert "could not be evaluated" in why and "orders_volume_vs_weekday_baseline" in why
    assert _value(wh, "profit_daily", "orders", "order_date", early) is None
    assert _log(wh, "profit_daily", "r1")[early][0] == "refused"


# ------------------------------------------------------------------------------ inputs still landing


def test_a_day_is_pending_until_its_cost_lines_have_landed(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    # 02:00: cost lines of the evening's orders (up to 4 h after them) are still landing
    rep = publish_table(wh, "profit_daily", [DAY], run_id="r1", now=_at(DAY + timedelta(days=1), 2))
    assert not rep.published and not rep.refused and DAY in rep.pending
    assert "raw.order_costs" in rep.pending[DAY]
    assert rep.metadata()["pending_units"] == 1 and rep.gate_result().passed
    assert _log(wh, "profit_daily", "r1")[DAY][0] == "pending"
    # the cost feed stalls at 01:00: at 09:00 the day is still pending, and late for its 08:00 SLA
    wh.execute("delete from raw.order_costs where recorded_at >= ?", [_at(DAY + timedelta(days=1), 1)])
    rep = publish_table(wh, "profit_daily", [DAY], run_id="r2", now=_at(DAY + timedelta(days=1), 9))
    assert "has landed up to" in rep.pending[DAY] and "late: SLA deadline" in rep.pending[DAY]
    assert rep.gate_result().metadata["pending_past_sla"].value == 1
    # a fresh copy at 07:00 has everything: published
    wh2 = world_copy(tmp_path / "w2.duckdb")
    rep = publish_table(wh2, "profit_daily", [DAY], run_id="r3", now=NOW)
    assert rep.published == [DAY] and not rep.pending


def test_a_pending_day_is_published_by_a_later_run(tmp_path: Path):
    """The next morning's run re-audits its lookback: the day left pending is published then."""
    wh = world_copy(tmp_path / "w.duckdb")
    rep = publish_table(wh, "profit_daily", [DAY], run_id="r1", now=_at(DAY + timedelta(days=1), 2))
    assert DAY in rep.pending
    nxt = DAY + timedelta(days=1)
    rep = publish_table(wh, "profit_daily", [nxt], run_id="r2", now=_at(nxt + timedelta(days=1), 7))
    assert rep.published == [DAY, nxt]
    assert _log(wh, "profit_daily", "r2")[DAY] == ("published", "")


# ------------------------------------------------------------------------------ late refunds, closed periods


def _late_refund_in_marts(wh, day: date, usd: float) -> None:
    """What the next run's dbt build does to the marts when a refund of `usd` lands for an order
    of `day`: the order, its day, region, month and quarter are restated in marts.*."""
    order = wh.query_df(
        "select order_id, region from marts.fct_order_profit where order_date = ? order by order_id limit 1",
        [day],
    ).iloc[0]
    month, quarter = day.replace(day=1), date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    for table, where, params in (
        ("fct_order_profit", "order_id = ?", [int(order["order_id"])]),
        ("agg_profit_daily", "order_date = ?", [day]),
        ("agg_profit_daily_by_region", "order_date = ? and region = ?", [day, order["region"]]),
        ("agg_profit_monthly", "month_start = ?", [month]),
        ("agg_profit_quarterly", "quarter_start = ?", [quarter]),
    ):
        wh.execute(
            f"update marts.{table} set refunds_usd = refunds_usd + ?, profit_usd = profit_usd - ? "
            f"where {where}",
            [usd, usd, *params],
        )


def test_a_late_refund_outside_the_lookback_changes_nothing_without_approval(tmp_path: Path):
    """April 1..28 published (day, month, quarter). A refund for an order of 04-10 lands after
    its lookback and a rebuild restates the marts (day, month AND quarter). The next daily run
    changes none of the published day, month or quarter; a backfill of 04-10 needs a listed
    approver, and then moves the day, the month and the quarter together."""
    wh = world_copy(tmp_path / "w.duckdb")
    april = [date(2025, 4, 1) + timedelta(days=i) for i in range(28)]
    now = _at(date(2025, 4, 29), 7)
    for t in ("profit_daily", "profit_monthly", "profit_quarterly"):
        assert publish_table(wh, t, april, run_id="r1", now=now).published, t
    late = date(2025, 4, 10)
    before = {
        t: _value(wh, t, "profit_usd", c, d)
        for t, c, d in (
            ("profit_daily", "order_date", late),
            ("profit_monthly", "month_start", date(2025, 4, 1)),
            ("profit_quarterly", "quarter_start", date(2025, 4, 1)),
        )
    }
    _late_refund_in_marts(wh, late, 250.0)
    nxt = date(2025, 4, 29)
    for t in ("profit_daily", "profit_monthly", "profit_quarterly"):
        publish_table(wh, t, [nxt], run_id="r2", now=_at(nxt + timedelta(days=1), 7))
    after = {
        t: _value(wh, t, "profit_usd", c, d)
        for t, c, d in (
            ("profit_daily", "order_date", late),
            ("profit_monthly", "month_start", date(2025, 4, 1)),
            ("profit_quarterly", "quarter_start", date(2025, 4, 1)),
        )
    }
    assert after["profit_daily"] == before["profit_daily"]
    # month and quarter moved only by the newly published 04-29, never by the restated mart
    d29 = _value(wh, "profit_daily", "profit_usd", "order_date", nxt)
    assert after["profit_monthly"] == pytest.approx(before["profit_monthly"] + d29, abs=1e-6)
    assert after["profit_quarterly"] == pytest.approx(before["profit_quarterly"] + d29, abs=1e-6)
    # a backfill of 04-10 without approval, with a blank or unknown approver: refused, naming the key
    later = _at(date(2025, 4, 30), 7)
    for approved_by, says in (
        (None, "approved_by"),
        (" ", "run tag approved_by is blank"),
        ("bob", "approved_by='bob' is not one of config/team.yaml approvers"),
    ):
        rep = publish_table(wh, "profit_daily", [late], run_id="r3", now=later, approved_by=approved_by)
        assert not rep.published and late in rep.blocking and says in rep.refused[late], rep.refused
    assert _value(wh, "profit_daily", "profit_usd", "order_date", late) == before["profit_daily"]
    # approved by a listed approver: the day is restated, and its month and quarter with it
    rep = publish_table(
        wh, "profit_daily", [late], run_id="r4", now=later, approved_by="priya.rao@metrics.example.com"
    )
    assert rep.published == [late] and {r.column for r in rep.restated[late]} == {"refunds_usd", "profit_usd"}
    for t in ("profit_monthly", "profit_quarterly"):
        rep = publish_table(wh, t, [late], run_id="r4", now=later, approved_by="PR")
        assert rep.published == [date(2025, 4, 1)] and rep.restated, t
    assert _value(wh, "profit_daily", "profit_usd", "order_date", late) == pytest.approx(
        before["profit_daily"] - 250, abs=1e-6
    )
    month = _value(wh, "profit_monthly", "profit_usd", "month_start", date(2025, 4, 1))
    days = wh.query_df(
        "select sum(profit_usd) as s from investor.profit_daily where order_date >= '2025-04-01'"
    )
    assert month == pytest.approx(float(days["s"].iloc[0]), abs=1e-6)


def test_a_late_refund_inside_the_lookback_into_a_closed_month_needs_approval(tmp_path: Path):
    """Late March published; on the 1st of April a refund lands for an order of 03-27 (inside
    the next run's lookback, but in a closed month): restating it needs a listed approver, and is
    then recorded (table, day, column, old, new, delta, run, approver)."""
    wh = world_copy(tmp_path / "w.duckdb")
    march = [date(2025, 3, 15) + timedelta(days=i) for i in range(17)]
    now = _at(date(2025, 4, 1), 7)
    assert publish_table(wh, "profit_daily", march, run_id="r1", now=now).published == march
    late = date(2025, 3, 27)
    before = _value(wh, "profit_daily", "profit_usd", "order_date", late)
    _late_refund_in_marts(wh, late, 100.0)
    apr1 = date(2025, 4, 1)
    morning = _at(apr1 + timedelta(days=1), 6)
    rep = publish_table(wh, "profit_daily", [apr1], run_id="r2", now=morning)
    assert rep.published == [apr1] and late in rep.blocking
    assert "closed period" in rep.refused[late] and "approved_by" in rep.refused[late]
    assert _value(wh, "profit_daily", "profit_usd", "order_date", late) == before
    for bad in (" ", "bob"):
        rep = publish_table(wh, "profit_daily", [apr1], run_id="r2x", now=morning, approved_by=bad)
        assert late in rep.blocking and "config/team.yaml approvers" in rep.refused[late]
    # with a listed approver the day is restated and recorded
    rep = publish_table(wh, "profit_daily", [apr1], run_id="r3", now=morning, approved_by="CW")
    assert late in rep.restated and late in rep.published
    assert _value(wh, "profit_daily", "profit_usd", "order_date", late) == pytest.approx(
        before - 100, abs=1e-6
    )
    rest = wh.query_df(
        "select unit, column_name, old_value, new_value, delta, approved_by from ops.restatements "
        "where run_id = 'r3' and investor_table = 'investor.profit_daily'"
    )
    assert {str(u)[:10] for u in rest["unit"]} == {str(late)}
    assert rest.set_index("column_name")["delta"].to_dict() == pytest.approx(
        {"refunds_usd": 100.0, "profit_usd": -100.0}
    )
    assert float(rest.set_index("column_name").loc["profit_usd", "old_value"]) == pytest.approx(before)
    assert set(rest["approved_by"]) == {"CW"}


# ------------------------------------------------------------------------------ a blocking check stops it


def test_a_blocking_check_failure_upstream_logs_the_refusal(tmp_path: Path):
    """A blocking ERROR check on a mart fails: Dagster skips the investor step, and the failure
    hook logs its refusal naming the step and the check."""
    from checks.registry import catalogue
    from metrics_assets.orchestration.partitions import DAILY
    from metrics_assets.publication.hook import log_stopped_publication
    from metrics_assets.publication.publish import build_publish_assets
    from metrics_core.config import pipeline_config

    wh = world_copy(tmp_path / "w.duckdb")
    assets = build_publish_assets(pipeline_config(), catalogue())
    asset = next(a for a in assets if a.key.to_user_string() == "investor/profit_daily")
    stubs, checks = [], []
    for dep in asset.asset_deps[asset.key]:

        @dg.asset(key=dep, partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
        def _stub() -> dg.MaterializeResult:
            return dg.MaterializeResult()

        stubs.append(_stub)
    fct = dg.AssetKey(["fct_order_profit"])

    @dg.asset_check(asset=fct, name="cost_coverage_per_region", blocking=True)
    def _failing() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)

    checks.append(_failing.with_hooks({log_stopped_publication}))
    res = dg.materialize(
        [*stubs, asset, *checks],
        resources={"warehouse": wh},
        partition_key=str(DAY),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags=_tag(NOW),
    )
    assert not res.success
    log = _log(wh, "profit_daily", res.run_id)
    action, reason = log[DAY]
    assert (
        action == "refused"
        and "cost_coverage_per_region" in reason
        and "stopped before publication" in reason
    )
    assert _value(wh, "profit_daily", "orders", "order_date", DAY) is None


@pytest.mark.warehouse
def test_a_dbt_level_blocking_failure_logs_a_refusal(tmp_path: Path):
    """Duplicated order ids fail dbt's ERROR test order_id_unique inside the dbt step: every
    investor step is skipped, and each logs a refusal for the day naming the failed test."""
    from tests.world import definitions, range_tags

    path = tmp_path / "w.duckdb"
    wh = world_copy(path)
    fault("duplicated_orders")(wh)
    defs = definitions(path)
    job = defs.resolve_job_def("all_pipelines")
    graph = job.asset_layer.asset_graph
    pick = {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and graph.get(k).group_name != "raw" and k.path[0] != "ops"
    }
    sub = job.get_subset(
        asset_selection=pick, asset_check_selection={k for k in graph.asset_check_keys if k.asset_key in pick}
    )
    res = sub.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={**range_tags(DAY, DAY), **_tag(NOW)},
        raise_on_error=False,
    )
    failed = {e.step_key for e in res.all_events if e.event_type_value == "STEP_FAILURE"}
    assert "metrics_dbt_models" in failed
    refused = wh.query_df(
        "select investor_table, unit, reason from ops.publication_log where run_id = ? "
        "and action = 'refused'",
        [res.run_id],
    )
    assert {"investor.profit_daily", "investor.growth_daily", "investor.engagement_daily"} <= set(
        refused["investor_table"]
    )
    daily = refused[refused["investor_table"] == "investor.profit_daily"]
    assert [str(u)[:10] for u in daily["unit"]] == [str(DAY)]
    assert "metrics_dbt_models" in daily["reason"].iloc[0] and "unique" in daily["reason"].iloc[0]
