"""The structural dbt tests (which Dagster turns into blocking asset checks) fail on the bad data
they exist for, and a failing error-severity test stops the models built on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from metrics_core.dbt_vars import dbt_vars_json
from tests.test_dbt_harness import create_raw_tables, run_dbt

DAY = date(2026, 3, 2)
UA = "Mozilla/5.0 MetricsApp/3.2"


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def _order(order_id: int, day: date, currency: str = "USD", status: str = "completed") -> tuple:
    return (order_id, 1, at(day, 10), currency, Decimal("20.00"), Decimal("0"), "na", status, False)


def _build(tmp: Path, fill: Callable[[duckdb.DuckDBPyConnection], None]) -> dict[str, str]:
    db = tmp / "bad.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
        con.execute(
            "insert into raw.users values (1, ?, 'organic', 'US', 'd', 'h1', 'ip', ?)", [at(DAY, 8), UA]
        )
        con.execute("insert into raw.app_events values ('e1', 1, 'd', null, 'login', ?, ?, 'ip', ?, 1)",
                    [at(DAY, 12), at(DAY, 12), UA])  # fmt: skip
        con.execute("insert into raw.fx_rates values (?, 'USD', 1, 'fx-1')", [DAY])
        fill(con)
    return run_dbt(["build", "--vars", dbt_vars_json(DAY, DAY + timedelta(days=1))], db, tmp / "dbt",
                   allow_failures=True)  # fmt: skip


@pytest.fixture(scope="module")
def staging_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.executemany(
            "insert into raw.orders values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_order(10, DAY), _order(12, DAY, status="refunded")],
        )  # status outside the contract
        con.executemany("insert into raw.order_costs values (?, ?, ?, ?, ?, 'USD', 'na')", [
            (1, 10, at(DAY, 11), "cogs", Decimal("5.00")),
            (2, 10, at(DAY, 11), "marketing", Decimal("1.00")),  # unknown cost type
        ])  # fmt: skip
        con.execute("insert into raw.fx_rates values (?, 'USD', 1, 'fx-1')", [DAY])  # a second USD rate
        con.executemany("insert into raw.experiment_assignments values (1, 'e1', ?, ?)", [
            ("control", at(DAY, 8)), ("treatment", at(DAY, 9)),  # one user in two variants
        ])  # fmt: skip

    return _build(tmp_path_factory.mktemp("dbt_staging_bad"), fill)


@pytest.fixture(scope="module")
def fact_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("insert into raw.users values (1, ?, 'paid_search', 'US', 'd', 'h2', 'ip', ?)",
                    [at(DAY, 9), UA])  # duplicate user id  # fmt: skip
        con.executemany("insert into raw.orders values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            _order(10, DAY), _order(10, DAY),  # duplicated order
            _order(11, DAY, currency="GBP"),  # no GBP rate that day
        ])  # fmt: skip

    return _build(tmp_path_factory.mktemp("dbt_fact_bad"), fill)


@pytest.mark.parametrize(
    "test_name",
    [
        "accepted_values_stg_orders_status__completed__pending__cancelled",
        "accepted_var_values_stg_order_costs_cost_type__cost_types",
        "unique_combination_stg_fx_rates_rate_date__currency",
    ],
)
def test_bad_source_data_fails_its_test(staging_failures: dict[str, str], test_name: str) -> None:
    assert staging_failures.get(test_name, "").startswith("fail"), sorted(staging_failures)


def test_variant_leakage_warns_without_blocking_the_experiment_cut(staging_failures: dict[str, str]) -> None:
    """Experiment pipelines are fail-open: the leakage test warns, the experiment cut still builds."""
    assert staging_failures[
        "unique_combination_stg_experiment_assignments_user_id__experiment_id"
    ].startswith("warn")
    assert "agg_growth_experiment_daily" not in staging_failures


def test_failed_error_test_blocks_downstream(staging_failures: dict[str, str]) -> None:
    """Error severity blocks: the facts built on a failing staging model are not rebuilt."""
    assert staging_failures["fct_order_profit"].startswith("skipped")
    assert staging_failures["agg_profit_daily"].startswith("skipped")


@pytest.mark.parametrize(
    "test_name",
    [
        "unique_fct_order_profit_order_id",
        "fct_order_profit_every_amount_has_fx_rate",
        "not_null_fct_order_profit_revenue_usd",
        "unique_dim_users_user_id",
    ],
)
def test_bad_fact_data_fails_its_test(fact_failures: dict[str, str], test_name: str) -> None:
    assert fact_failures.get(test_name, "").startswith("fail"), sorted(fact_failures)


def test_clean_parts_pass(fact_failures: dict[str, str]) -> None:
    """Tests of data that is fine here do not fail (no test fails for every input)."""
    for ok in ("unique_fct_events_event_id", "unique_fct_sessions_session_id",
               "agg_engagement_daily_dau_le_wau_le_mau", "fct_events"):  # fmt: skip
        assert ok not in fact_failures
