"""Every catalogue check fails on the bad data it exists for and passes on the same clean day.

One small clean world (generated raw sources + one dbt run, SF 0.02, Jan-Apr 2025) is built per
test process; each case copies it, evaluates the check on the clean copy, breaks the data (a
fault from metrics_assets/generator/faults.py on the raw layer, or crafted bad rows in a mart),
and evaluates again.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb
import pytest

from checks.core import evaluate
from checks.registry import catalogue
from checks.relations import relation
from metrics_assets.generator import faults, generate_range
from metrics_core.dbt_vars import dbt_vars_json
from metrics_core.paths import DBT_PROJECT_DIR, PROJECT_ROOT
from resources.warehouse import Warehouse

SF, SEED = 0.02, 20261122
START, END = date(2025, 1, 8), date(2025, 5, 1)  # [START, END); launch 2025-01-01
DAY = date(2025, 4, 15)  # a Tuesday with 3+ months of history


@cache
def clean_world() -> Path:
    """Raw sources and dbt marts for [START, END), built once per test process."""
    work = Path(tempfile.mkdtemp(prefix="checks_world_"))
    atexit.register(shutil.rmtree, work, True)  # one world per test process, gone with it
    db = work / "clean.duckdb"
    generate_range(str(db), START, END, SF, SEED, date(2025, 1, 1), quiet=True)
    env = {
        **os.environ,
        "METRICS_DUCKDB_PATH": str(db),
        "METRICS_WAREHOUSE": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = PROJECT_ROOT / ".venv" / "bin" / "dbt"
    subprocess.run(
        [
            str(dbt if dbt.exists() else "dbt"),
            "run",
            "--vars",
            dbt_vars_json(START, END),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "-q",
        ],
        check=True,
        env=env,
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
    )
    return db


def world_copy(dest: Path) -> Warehouse:
    shutil.copyfile(clean_world(), dest)
    return Warehouse(backend="duckdb", duckdb_path=str(dest))


def sql(wh: Warehouse, *statements: str) -> None:
    with duckdb.connect(wh.path) as con:
        for s in statements:
            con.execute(s)


def fault(name: str, day: date = DAY, **params) -> Callable[[Warehouse], None]:
    def apply(wh: Warehouse) -> None:
        with duckdb.connect(wh.path) as con:
            faults.inject(con, name, day, **params)

    return apply


def crafted(*statements: str) -> Callable[[Warehouse], None]:
    return lambda wh: sql(wh, *statements)


D = f"DATE '{DAY}'"
M = relation  # model -> schema.table


def _series(model: str, col: str, value: str) -> Callable[[Warehouse], None]:
    """Make a mart's daily column a clean, evaluable series (big enough for a daily decision)."""
    return crafted(f"update {M(model)} set {col} = {value}")


# check key -> (day, prepare a clean-but-evaluable state or None, break it)
CASES: dict[str, tuple[date, Callable | None, Callable]] = {
    # ---- profit
    "raw/orders:orders_volume_vs_weekday_baseline": (DAY, None, fault("zero_rows", table="orders")),
    "raw/orders:source_contract": (DAY, None, fault("renamed_column", table="orders", column="gross_amount")),
    "raw/payments:source_contract": (
        DAY,
        None,
        fault("int_to_decimal", table="payments", column="payment_id"),
    ),
    "raw/refunds:source_contract": (
        DAY,
        None,
        fault("null_keys", table="refunds", column="order_id", share=0.5),
    ),
    "raw/order_costs:source_contract": (
        DAY,
        None,
        fault("type_change", table="order_costs", column="amount"),
    ),
    "raw/fx_rates:source_contract": (DAY, None, fault("duplicate_load", table="fx_rates")),
    "raw/refunds:late_refund_monitor": (DAY + timedelta(days=9), None, fault("late_refunds", share=0.2)),
    "fct_order_profit:order_id_unique": (
        DAY,
        None,
        crafted(
            f"insert into {M('fct_order_profit')} select * from {M('fct_order_profit')} "
            f"where order_date = {D} limit 1"
        ),
    ),
    "fct_order_profit:fx_rate_coverage": (DAY, None, fault("fx_gap")),
    "agg_profit_daily:reconciles_with_unit_profit": (DAY, None, fault("unit_agg_mismatch")),
    "fct_order_profit:no_test_orders": (
        DAY,
        None,
        crafted(
            f"update raw.orders set is_test = true where order_id = (select min(order_id) "
            f"from {M('fct_order_profit')} where order_date = {D})"
        ),
    ),
    "raw/orders:partition_day_boundaries_utc": (DAY, None, fault("timezone_shift")),
    "fct_order_profit:cost_coverage_per_region": (DAY, None, fault("missing_costs_region")),
    "agg_profit_daily:profit_deviation_vs_trailing_mean": (
        DAY,
        _series("agg_profit_daily", "profit_usd", "10000 + (hash(order_date) % 300)"),
        crafted(f"update {M('agg_profit_daily')} set profit_usd = 13500 where order_date = {D}"),
    ),
    "agg_profit_daily:run_duration_vs_baseline": (DAY, None, fault("slow_run")),
    "raw/fx_rates:fx_rate_vs_own_history": (DAY, None, fault("fx_rate_jump")),
    "raw/order_costs:cost_rates_vs_own_history": (DAY, None, fault("cost_table_mismatch")),
    "raw/orders:null_rate_vs_baseline": (DAY, None, fault("null_amounts")),
    "raw/payments:null_rate_vs_baseline": (
        DAY,
        None,
        fault("null_amounts", table="payments", column="processor_fee", share=0.01),
    ),
    "raw/refunds:null_rate_vs_baseline": (
        DAY,
        None,
        fault("null_amounts", table="refunds", column="amount", share=0.2),
    ),
    "raw/order_costs:null_rate_vs_baseline": (
        DAY,
        None,
        fault("null_amounts", table="order_costs", column="currency", share=0.01),
    ),
    "fct_order_profit:partition_freshness_vs_sla": (DAY, None, fault("feed_late")),
    # ---- growth
    "dim_persons:one_person_per_email_hash": (
        DAY,
        None,
        crafted(
            f"insert into {M('dim_persons')} select * from {M('dim_persons')} "
            f"where first_signup_date = {D} limit 1"
        ),
    ),
    "dim_users:user_id_unique": (
        DAY,
        None,
        crafted(
            f"insert into {M('dim_users')} select * from {M('dim_users')} where signup_date = {D} limit 1"
        ),
    ),
    "raw/marketing_spend:spend_present_for_active_channels": (DAY, None, fault("marketing_api_gap")),
    "raw/account_closures:churn_log_freshness": (
        DAY,
        # a churn log busy enough to judge (~30 closures a day), then four silent days
        crafted(
            "insert into raw.account_closures select 900000000 + i, 1, "
            "TIMESTAMP '2025-01-01' + to_minutes(i * 47), 'voluntary' from range(0, 3500) t(i)"
        ),
        fault("late_churn"),
    ),
    "raw/users:source_contract": (DAY, None, fault("new_column", table="users")),
    "raw/account_closures:source_contract": (
        DAY,
        None,
        fault("null_keys", table="account_closures", column="user_id", share=1.0),
    ),
    "raw/marketing_spend:source_contract": (
        DAY,
        None,
        fault("renamed_column", table="marketing_spend", column="spend_usd"),
    ),
    "agg_growth_daily:net_growth_within_bounds": (
        DAY,
        None,
        crafted(
            f"update {M('agg_growth_daily')} set net_growth = new_users - churned_users + 7 where day = {D}"
        ),
    ),
    "agg_growth_daily:new_users_deviation_vs_trailing_mean": (
        DAY,
        _series("agg_growth_daily", "new_users", "100 + (hash(day) % 7)"),
        crafted(f"update {M('agg_growth_daily')} set new_users = 180 where day = {D}"),
    ),
    "agg_signup_quality_daily:bot_signup_share_vs_baseline": (
        DAY,
        _series("agg_signup_quality_daily", "signups", "40"),
        crafted(f"update {M('agg_signup_quality_daily')} set bot_signups = 12 where day = {D}"),
    ),
    "agg_signup_quality_daily:repeat_signup_share_vs_baseline": (
        DAY,
        crafted(
            f"update {M('agg_signup_quality_daily')} set signups = 40, bot_signups = 0, repeat_signups = 1"
        ),
        crafted(f"update {M('agg_signup_quality_daily')} set repeat_signups = 12 where day = {D}"),
    ),
    "agg_growth_experiment_daily:one_variant_per_user_and_experiment": (
        DAY,
        None,
        crafted(
            # a new person of the day gets a second user id assigned to another variant
            f"create temp table p as select u.person_id, a.experiment_id, a.variant from {M('dim_users')} u "
            f"join raw.experiment_assignments a on a.user_id = u.user_id "
            f"join {M('dim_persons')} dp on dp.person_id = u.person_id "
            f"where dp.first_signup_date = {D} limit 1",
            f"insert into {M('dim_users')} (user_id, signup_date, person_id, email_hash, is_bot_signup) "
            f"select 990000001, {D}, person_id, person_id, false from p",
            "insert into raw.experiment_assignments select 990000001, experiment_id, "
            f"variant || '_other', TIMESTAMP '{DAY} 12:00:00' from p",
        ),
    ),
    # ---- engagement
    "raw/app_events:event_freshness": (DAY, None, fault("ingestion_stall")),
    "raw/app_events:events_volume_vs_weekday_baseline": (
        DAY,
        None,
        fault("volume_drop", table="app_events", share=0.5),
    ),
    "raw/app_events:null_rate_vs_baseline": (DAY, None, fault("null_user_ids")),
    "raw/app_events:source_contract": (
        DAY,
        None,
        fault("int_to_decimal", table="app_events", column="schema_version"),
    ),
    "fct_events:event_id_unique": (
        DAY,
        None,
        crafted(
            f"insert into {M('fct_events')} select * from {M('fct_events')} where event_date = {D} limit 3"
        ),
    ),
    "agg_event_quality_daily:duplicate_rate_vs_baseline": (
        DAY,
        None,
        crafted(f"update {M('agg_event_quality_daily')} set duplicate_rate = 0.09 where day = {D}"),
    ),
    "agg_event_quality_daily:unknown_event_type_share": (
        DAY,
        None,
        crafted(f"update {M('agg_event_quality_daily')} set unknown_type_share = 0.1 where day = {D}"),
    ),
    "agg_event_quality_daily:bot_share_vs_baseline": (
        DAY,
        None,
        crafted(f"update {M('agg_event_quality_daily')} set bot_share = bot_share + 0.2 where day = {D}"),
    ),
    "agg_engagement_daily:engagement_values_sane": (
        DAY,
        None,
        crafted(f"update {M('agg_engagement_daily')} set dau = mau + 1 where day = {D}"),
    ),
    "fct_sessions:session_id_unique": (
        DAY,
        None,
        crafted(
            f"insert into {M('fct_sessions')} select * from {M('fct_sessions')} "
            f"where session_date = {D} limit 1"
        ),
    ),
    "agg_engagement_daily:session_length_vs_baseline": (
        DAY,
        None,
        crafted(
            f"update {M('agg_engagement_daily')} set avg_session_seconds = avg_session_seconds * 0.2 "
            f"where day = {D}"
        ),
    ),
    "agg_engagement_daily:dau_deviation_vs_trailing_mean": (
        DAY,
        None,
        crafted(f"update {M('agg_engagement_daily')} set dau = dau * 0.4 where day = {D}"),
    ),
    # ---- experiments
    "raw/experiment_assignments:no_user_in_two_variants": (DAY, None, fault("variant_leakage")),
    "raw/experiment_assignments:sample_ratio_mismatch": (
        DAY,
        None,
        crafted(
            "insert into raw.experiment_assignments select 980000000 + i, 'checkout_redesign', "
            f"'control', TIMESTAMP '{DAY} 10:00:00' + to_seconds(i) from range(0, 150) t(i)"
        ),
    ),
}


def test_every_catalogue_check_has_a_case():
    keys = {c.key for c in catalogue().checks}
    assert sorted(keys - set(CASES)) == []
    assert sorted(set(CASES) - keys) == []


@pytest.mark.parametrize("key", sorted(CASES))
def test_check_passes_clean_and_fails_on_its_fault(key: str, tmp_path: Path):
    day, prepare, breaker = CASES[key]
    asset, name = key.rsplit(":", 1)
    check = catalogue().get(asset, name)
    wh = world_copy(tmp_path / "w.duckdb")
    if prepare:
        prepare(wh)
    [clean] = evaluate(check, wh, [day])
    assert not clean.failed, f"{key} fails on clean data: {clean.message}"
    breaker(wh)
    [broken] = evaluate(check, wh, [day])
    assert broken.failed, f"{key} did not catch its fault: {broken.status} {broken.message}"
    assert broken.status == "fail", f"{key} errored instead of failing: {broken.message}"
    assert broken.runbook.endswith(f"#{check.failure_mode}")
    assert broken.message


def test_range_evaluation_names_only_the_broken_day(tmp_path: Path):
    check = catalogue().get("raw/orders", "orders_volume_vs_weekday_baseline")
    wh = world_copy(tmp_path / "w.duckdb")
    fault("zero_rows", table="orders")(wh)
    days = [DAY + timedelta(days=i) for i in range(-3, 4)]
    outs = evaluate(check, wh, days)
    assert [o.day for o in outs if o.failed] == [DAY]


def test_source_contract_message_names_table_column_and_change(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    fault("renamed_column", table="orders", column="gross_amount", new_name="gross_amt")(wh)
    [o] = evaluate(catalogue().get("raw/orders", "source_contract"), wh, [DAY])
    assert o.failed and "raw.orders.gross_amount" in o.message and "gross_amt" in o.message
    # a long range takes the grouped path and reports the same change
    outs = evaluate(
        catalogue().get("raw/orders", "source_contract"), wh, [DAY - timedelta(days=i) for i in range(40)]
    )
    assert all(x.failed and "raw.orders.gross_amount" in x.message for x in outs)


def test_long_range_contract_finds_null_keys_on_their_day(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    fault("null_keys", table="orders", column="order_id", share=0.05)(wh)
    days = [DAY - timedelta(days=i) for i in range(40)]
    outs = evaluate(catalogue().get("raw/orders", "source_contract"), wh, days)
    assert [o.day for o in outs if o.failed] == [DAY]
    assert "raw.orders.order_id" in next(o for o in outs if o.failed).message


def test_missing_mart_table_fails_closed(tmp_path: Path):
    wh = world_copy(tmp_path / "w.duckdb")
    sql(wh, f"drop table {M('agg_profit_daily')}")
    [o] = evaluate(catalogue().get("agg_profit_daily", "reconciles_with_unit_profit"), wh, [DAY])
    assert o.status == "error" and o.failed and "agg_profit_daily" in o.message


def test_orders_feed_stalled_in_the_evening_is_caught_by_freshness(tmp_path: Path):
    """Orders stop at 17:00: too small a drop for the volume floor, but the source is stale."""
    wh = world_copy(tmp_path / "w.duckdb")
    check = catalogue().get("raw/orders", "orders_volume_vs_weekday_baseline")
    sql(
        wh,
        f"delete from raw.orders where created_at >= TIMESTAMP '{DAY} 17:00:00' "
        f"and created_at < TIMESTAMP '{DAY + timedelta(days=1)} 00:00:00'",
    )
    [o] = evaluate(check, wh, [DAY])
    assert o.failed and "orders stale" in o.message


def test_event_counts_are_the_metrics_counts(tmp_path: Path):
    """The raw-level event counts (volume, null-rate checks) apply the metric's own rules: equal
    to what dbt's agg_event_quality_daily counted for the same days."""
    from checks.core import EvalContext, utc_now
    from checks.engagement import metric_event_counts
    from checks.settings import check_settings

    wh = world_copy(tmp_path / "w.duckdb")
    lo, hi = DAY - timedelta(days=6), DAY + timedelta(days=1)
    ours = metric_event_counts(EvalContext(wh, check_settings(), utc_now()), lo, hi)
    q = wh.query_df(
        f"select day, raw_events, deduped_events, bot_events, anonymous_events, counted_events "
        f"from {M('agg_event_quality_daily')} where day >= ? and day < ? order by day",
        [lo, hi],
    )
    assert len(q) == 7
    for r in q.to_dict("records"):
        mine = ours[r["day"].date() if hasattr(r["day"], "date") else r["day"]]
        assert (mine["raw_rows"], mine["deduped"], mine["bots"], mine["anonymous"], mine["counted"]) == (
            r["raw_events"],
            r["deduped_events"],
            r["bot_events"],
            r["anonymous_events"],
            r["counted_events"],
        )
        assert mine["bots"] > 0 and mine["raw_rows"] > mine["deduped"]  # the world has both


@pytest.mark.parametrize(
    "name, params",
    [("bot_spike", {"share": 0.5}), ("duplicate_events", {"share": 0.4})],
)
def test_events_volume_ignores_rows_the_metric_filters(tmp_path: Path, name: str, params: dict):
    """Bot floods and duplicate deliveries are filtered by the metric, so they must not refuse a
    correct day: the volume check passes and reports them apart; a real loss still fails."""
    check = catalogue().get("raw/app_events", "events_volume_vs_weekday_baseline")
    wh = world_copy(tmp_path / "w.duckdb")
    [clean] = evaluate(check, wh, [DAY])
    fault(name, **params)(wh)
    [o] = evaluate(check, wh, [DAY])
    assert o.status == "pass", o.message
    assert o.value == clean.value  # the counted events did not move
    key = "bot_events" if name == "bot_spike" else "duplicate_rows"
    assert o.details[key] > clean.details[key] + 0.3 * clean.value
    assert "not counted" in o.message
    fault("dau_drop", share=0.4)(wh)
    [lost] = evaluate(check, wh, [DAY])
    assert lost.status == "fail", lost.message


def test_event_counts_keep_past_days_and_recompute_only_changed_ones(tmp_path: Path, monkeypatch):
    """The raw app_events counts are kept per day (ops.check_day_cache): a second evaluation
    computes no day again, a day whose raw rows changed (a late event, a fault) is computed again
    and only it, other rules or columns compute every day, and kept days equal computed ones."""
    from checks import engagement
    from checks.core import EvalContext, utc_now
    from checks.settings import check_settings

    wh = world_copy(tmp_path / "w.duckdb")
    lo, hi = DAY - timedelta(days=20), DAY + timedelta(days=1)
    computed: list[list[date]] = []
    real = engagement._metric_event_counts

    def spy(ctx, days, cols):
        computed.append(sorted(days))
        return real(ctx, days, cols)

    monkeypatch.setattr(engagement, "_metric_event_counts", spy)

    def counts(cols: tuple[str, ...] = ()):
        return engagement.metric_event_counts(EvalContext(wh, check_settings(), utc_now()), lo, hi, cols)

    first = counts()
    assert sum(computed, []) == sorted(first) and len(first) == 21
    assert [len(c) for c in computed] == [7, 7, 7]  # a week per query: memory bounded by a chunk
    computed.clear()
    assert counts() == first and computed == []  # every day kept
    late = DAY - timedelta(days=3)
    sql(
        wh,
        "insert into raw.app_events select * replace (event_id || '-late' as event_id, "
        f"received_at + interval 2 day as received_at) from raw.app_events "
        f"where cast(event_time as date) = '{late}' and user_id is not null limit 5",
    )
    after = counts()
    assert computed == [[late]]
    assert after[late]["counted"] == first[late]["counted"] + 5
    assert {d: r for d, r in after.items() if d != late} == {d: r for d, r in first.items() if d != late}
    kept_cols = tuple(sorted(check_settings().critical_fields.fields["app_events"]))
    whole = real(EvalContext(wh, check_settings(), utc_now()), sorted(after), kept_cols)
    assert {d: {k: int(v) for k, v in r.items()} for d, r in whole.items()} == after
    edited = DAY - timedelta(days=9)  # a value changed in place: same ids, same row count
    sql(
        wh,
        "update raw.app_events set user_agent = 'Googlebot/2.1' where event_id in (select event_id from "
        f"raw.app_events where cast(event_time as date) = '{edited}' order by event_id limit 40)",
    )
    computed.clear()
    edited_counts = counts()
    assert computed == [[edited]] and edited_counts[edited]["bots"] > after[edited]["bots"]
    computed.clear()
    counts(("user_agent",))  # another column counted: another key, every day computed
    assert sum(computed, []) == sorted(first)


def test_orders_volume_ignores_test_and_duplicate_rows(tmp_path: Path):
    check = catalogue().get("raw/orders", "orders_volume_vs_weekday_baseline")
    wh = world_copy(tmp_path / "w.duckdb")
    [clean] = evaluate(check, wh, [DAY])
    fault("duplicate_load", table="orders", times=2)(wh)  # every order of the day landed twice
    [o] = evaluate(check, wh, [DAY])
    assert o.status == "pass" and o.value == clean.value, o.message
    assert o.details["duplicate_rows"] == o.details["rows"] // 2
    fault("zero_rows", table="orders")(wh)
    [lost] = evaluate(check, wh, [DAY])
    assert lost.status == "fail", lost.message


def test_null_rate_bound_names_table_and_column_and_baseline_catches_a_rise(tmp_path: Path):
    """A never-null amount fails on one NULL; event user ids (anonymous is normal) fail on a rise
    above their own baseline that stays below the hard bound."""
    wh = world_copy(tmp_path / "w.duckdb")
    fault("null_amounts", table="refunds", column="amount", share=0.01)(wh)
    [o] = evaluate(catalogue().get("raw/refunds", "null_rate_vs_baseline"), wh, [DAY])
    assert o.status == "fail" and "raw.refunds.amount: 1 NULL" in o.message
    check = catalogue().get("raw/app_events", "null_rate_vs_baseline")
    [clean] = evaluate(check, wh, [DAY])
    fault("null_user_ids", share=0.06)(wh)  # ~6% anonymous -> ~12%: under the 20% bound
    [rise] = evaluate(check, wh, [DAY])
    assert rise.status == "fail" and rise.value < 0.20 < 1, rise.message
    assert rise.value > clean.value + 0.04 and "null share of raw.app_events. user_id" in rise.message
