"""Every fault changes the raw data as intended, names its failure mode, and reverts exactly."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from checks.contracts import check_source_contract
from metrics_assets.generator import ensure_raw_tables, write_partitions
from metrics_assets.generator.faults import FAULTS, coerce_params, failure_modes_without_fault, inject, revert
from metrics_core.paths import PROJECT_ROOT
from metrics_core.sources import SOURCES

D = date(2025, 3, 4)
NEXT = D + timedelta(days=1)
ON_D = f">= DATE '{D}' AND {{c}} < DATE '{NEXT}'"


def on(col: str) -> str:
    return f"{col} {ON_D.format(c=col)}"


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "clean.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)
        for s in SOURCES:
            write_partitions(
                con,
                s,
                date(2025, 2, 15),
                date(2025, 3, 16),
                scale_factor=0.05,
                seed=11,
                launch_date=date(2025, 1, 1),
            )
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.agg_profit_daily AS SELECT DATE '2025-03-04' AS order_date, "
            "1000.0 AS profit_usd"
        )
    return path


@pytest.fixture
def con(clean_db, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(clean_db, path)
    c = duckdb.connect(str(path))
    yield c
    c.close()


def q(con, sql: str):
    return con.execute(sql).fetchone()[0]


def fingerprint(con) -> dict[str, tuple]:
    out = {s: con.execute(f"SELECT count(*), sum(hash(t)) FROM raw.{s} t").fetchone() for s in SOURCES}
    out["cols"] = tuple(
        con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' ORDER BY 1, ordinal_position"
        ).fetchall()
    )
    return out


# fault -> (SQL measured before and after, predicate(before, after, result))
EXPECT = {
    "volume_drop": (
        f"SELECT count(*) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: a == b - round(0.3 * b),
    ),
    "zero_rows": (
        f"SELECT count(*) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: b > 0 and a == 0,
    ),
    "duplicate_load": (
        f"SELECT count(*) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: a == 2 * b,
    ),
    "duplicated_orders": (
        f"SELECT count(*) - count(DISTINCT order_id) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: b == 0 and a >= 1 and a == r.rows_affected,
    ),
    "missing_costs_region": (
        "SELECT count(*) FROM raw.order_costs c JOIN raw.orders o USING (order_id) "
        f"WHERE {on('o.created_at')} AND c.region = (SELECT region FROM raw.orders WHERE {on('created_at')} "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)",
        lambda b, a, r: b > 0 and a == 0,
    ),
    "late_refunds": (
        "SELECT count(*) FROM raw.refunds f JOIN raw.orders o USING (order_id) "
        f"WHERE {on('o.created_at')} AND datediff('day', o.created_at, f.refunded_at) = 9",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "null_keys": (
        f"SELECT count(*) - count(order_id) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: b == 0 and a >= 1,
    ),
    "duplicate_signups": (
        f"SELECT count(*) - count(DISTINCT user_id) FROM raw.users WHERE {on('signed_up_at')}",
        lambda b, a, r: b == 0 and a >= 1,
    ),
    "repeat_signups": (
        f"SELECT count(*) - count(DISTINCT email_hash) FROM raw.users WHERE {on('signed_up_at')}",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "null_user_ids": (
        f"SELECT count(*) - count(user_id) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "null_amounts": (
        f"SELECT count(*) - count(gross_amount) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: b == 0 and a == r.rows_affected > 0,
    ),
    "fx_rate_jump": (
        f"SELECT usd_per_unit FROM raw.fx_rates WHERE rate_date = DATE '{D}' AND currency = 'EUR'",
        lambda b, a, r: abs(float(a) / float(b) - 10) < 1e-6 and r.rows_affected == 1,
    ),
    "cost_table_mismatch": (
        "SELECT sum(c.amount) FROM raw.order_costs c JOIN raw.orders o USING (order_id) "
        f"WHERE {on('o.created_at')} AND c.cost_type = 'cogs'",
        lambda b, a, r: abs(float(a) / float(b) - 1.25) < 0.001 and r.rows_affected > 0,
    ),
    "marketing_api_gap": (
        f"SELECT count(*) FROM raw.marketing_spend WHERE {on('spend_date')}",
        lambda b, a, r: b > 0 and a == 0,
    ),
    "late_churn": (
        "SELECT count(*) FROM raw.account_closures WHERE closed_at >= DATE '2025-03-01' "
        f"AND closed_at < DATE '{NEXT}'",
        lambda b, a, r: a == 0,
    ),
    "ingestion_stall": (
        f"SELECT hour(max(received_at)) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: b == 23 and a < 12,
    ),
    "duplicate_events": (
        f"SELECT count(*) - count(DISTINCT event_id) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "renamed_event_type": (
        f"SELECT count(*) FILTER (WHERE event_type = 'user_login') * 1000000 + "
        f"count(*) FILTER (WHERE event_type = 'login') FROM raw.app_events "
        f"WHERE {on('event_time')}",
        lambda b, a, r: b < 1000000 and a % 1000000 == 0 < a,
    ),
    "bot_spike": (
        f"SELECT count(*) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: a == b + round(0.3 * b),
    ),
    "bot_signups": (
        f"SELECT count(*) FILTER (WHERE user_agent ILIKE '%bot%') FROM raw.users WHERE {on('signed_up_at')}",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "growth_spike": (
        f"SELECT count(DISTINCT email_hash) FROM raw.users WHERE {on('signed_up_at')}",
        lambda b, a, r: a - b == r.rows_affected > 0,
    ),
    "variant_leakage": (
        "SELECT count(*) FROM (SELECT user_id, experiment_id FROM raw.experiment_assignments "
        f"WHERE {on('assigned_at')} GROUP BY 1, 2 HAVING count(DISTINCT variant) > 1)",
        lambda b, a, r: b == 0 and a == r.rows_affected > 0,
    ),
    "broken_randomisation": (
        "SELECT count(*) FILTER (WHERE variant = 'treatment') - count(*) FILTER (WHERE variant = 'control') "
        "FROM raw.experiment_assignments WHERE assigned_at >= DATE '2025-02-19' "
        f"AND assigned_at < DATE '{NEXT}'",
        lambda b, a, r: a - b == 2 * r.rows_affected > 0,
    ),
    "person_variant_conflict": (
        "SELECT count(*) FROM (SELECT u.email_hash, a.experiment_id FROM raw.experiment_assignments a "
        "JOIN raw.users u USING (user_id) GROUP BY 1, 2 HAVING count(DISTINCT a.variant) > 1)",
        lambda b, a, r: a > b,
    ),
    "fx_gap": (
        f"SELECT count(*) FROM raw.fx_rates WHERE {on('rate_date')} AND currency <> 'USD'",
        lambda b, a, r: b > 0 and a == 0,
    ),
    "test_orders_leak": (
        "SELECT count(*) FROM (SELECT order_id FROM raw.orders GROUP BY 1 "
        "HAVING bool_or(is_test) AND NOT bool_and(is_test))",
        lambda b, a, r: b == 0 and a > 0,
    ),
    "timezone_shift": (
        "SELECT count(*) FROM raw.orders o JOIN raw.payments p USING (order_id) "
        "WHERE p.status = 'captured' AND p.paid_at < o.created_at",
        lambda b, a, r: b == 0 and a > 0,
    ),
    "profit_jump": (
        f"SELECT sum(gross_amount) FROM raw.orders WHERE {on('created_at')}",
        lambda b, a, r: abs(float(a) / float(b) - 1.5) < 0.01,
    ),
    "dau_drop": (
        f"SELECT count(DISTINCT user_id) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: a == b - round(0.4 * b),
    ),
    "session_split": (
        "SELECT count(*) FROM (SELECT event_time - lag(event_time) "
        "OVER (PARTITION BY user_id ORDER BY event_time)"
        f" AS gap FROM raw.app_events WHERE {on('event_time')} AND user_id IS NOT NULL) "
        "WHERE gap IS NULL OR gap > INTERVAL 30 MINUTE",
        lambda b, a, r: a > 1.5 * b,
    ),
    "nonsense_values": (
        f"SELECT count(DISTINCT user_id) FROM raw.app_events WHERE {on('event_time')}",
        lambda b, a, r: b > 0 and a == 0,
    ),
    "feed_late": (
        f"SELECT count(*) FROM raw.orders WHERE {on('created_at')} AND status = 'completed' AND NOT is_test",
        lambda b, a, r: a == b + round(1.5 * b),
    ),
    "unit_agg_mismatch": (
        f"SELECT profit_usd FROM marts.agg_profit_daily WHERE order_date = DATE '{D}'",
        lambda b, a, r: a - b == 100,
    ),
    "slow_run": (
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops'",
        lambda b, a, r: a == 1,
    ),
}
SCHEMA_FAULTS = {
    "renamed_column": "raw.orders.gross_amount: column renamed to gross_amount_v2 (DECIMAL(18,2))",
    "api_schema_drift": "raw.marketing_spend.spend_usd: column renamed to spend (DECIMAL(18,2))",
    "int_to_decimal": "raw.orders.user_id: type changed BIGINT -> DECIMAL(18,2)",
    "type_change": "raw.orders.gross_amount: type changed DECIMAL(18,2) -> DOUBLE",
    "new_column": "raw.orders.promo_code: unexpected new column (VARCHAR)",
}


def test_every_fault_has_an_expectation():
    assert set(FAULTS) == set(EXPECT) | set(SCHEMA_FAULTS)


def test_every_failure_mode_in_the_catalogue_has_a_fault():
    catalogue = yaml.safe_load((PROJECT_ROOT / "checks" / "failure_modes.yaml").read_text())["failure_modes"]
    assert failure_modes_without_fault(catalogue) == []
    assert {f.mode() for f in FAULTS.values()} <= set(catalogue)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_fault_changes_data_as_intended_and_reverts(con, name):
    sql, ok = EXPECT[name]
    before_fp = fingerprint(con)
    before = q(con, sql)
    res = inject(con, name, D)
    after = q(con, sql)
    assert res.failure_mode == FAULTS[name].mode() and res.fault == name
    assert ok(before, after, res), f"{name}: before={before} after={after} ({res.detail})"
    assert revert(con, name, D) == [res.injection_id]
    assert fingerprint(con) == before_fp
    assert q(con, sql) == before or name == "slow_run"


@pytest.mark.parametrize("name", sorted(SCHEMA_FAULTS))
def test_schema_faults_break_the_contract_and_revert(con, name):
    before = fingerprint(con)
    table = FAULTS[name].defaults["table"]
    assert check_source_contract(con, table, D).passed
    inject(con, name, D)
    assert SCHEMA_FAULTS[name] in check_source_contract(con, table, D).message
    revert(con)
    assert fingerprint(con) == before
    assert check_source_contract(con, table, D).passed


def test_null_keys_and_duplicates_fail_the_contract(con):
    inject(con, "null_keys", D)
    inject(con, "duplicated_orders", D, share=0.1)
    msg = check_source_contract(con, "orders", D).message
    assert "raw.orders.order_id: " in msg and "NULL value(s) in key column" in msg
    assert "raw.orders.order_id: " in msg and "duplicated key value(s)" in msg


def test_stacked_faults_revert_newest_first(con):
    before = fingerprint(con)
    inject(con, "volume_drop", D, table="app_events", share=0.5)
    inject(con, "bot_spike", D)
    inject(con, "renamed_column", D, table="app_events", column="event_type")
    assert len(revert(con)) == 3
    assert fingerprint(con) == before


def test_params_are_checked_and_coerced():
    assert coerce_params(FAULTS["volume_drop"], {"share": "0.5"})["share"] == 0.5
    assert coerce_params(FAULTS["late_refunds"], {"delay_days": "12"})["delay_days"] == 12
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['bogus'\]"):
        coerce_params(FAULTS["volume_drop"], {"bogus": 1})
    with pytest.raises(ValueError, match="unknown fault"):
        inject(None, "no_such_fault", D)


def test_cli_lists_injects_and_reverts(clean_db, tmp_path, monkeypatch, capsys):
    from metrics_assets.cli import main

    path = tmp_path / "cli.duckdb"
    shutil.copy(clean_db, path)
    monkeypatch.setenv("METRICS_DUCKDB_PATH", str(path))
    monkeypatch.setenv("METRICS_WAREHOUSE", "duckdb")
    assert main(["faults", "list"]) == 0
    assert "volume_drop" in capsys.readouterr().out
    assert main(["faults", "inject", "zero_rows", "--day", str(D), "-p", "table=users"]) == 0
    assert "growth-extreme-numbers" in capsys.readouterr().out
    with duckdb.connect(str(path)) as c:
        assert q(c, f"SELECT count(*) FROM raw.users WHERE {on('signed_up_at')}") == 0
    assert main(["faults", "revert"]) == 0
    with duckdb.connect(str(path)) as c:
        assert q(c, f"SELECT count(*) FROM raw.users WHERE {on('signed_up_at')}") > 0
