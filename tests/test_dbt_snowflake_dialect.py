"""The Snowflake target: the whole project builds through dbt-snowflake (its default__ macro
implementations: regexp_instr, dateadd, datediff) against fakesnow and gives the DuckDB target's
numbers on the same fixture.

fakesnow translates Snowflake SQL to DuckDB, so this proves the Snowflake SQL is well formed and
means the same; it is not a substitute for one run on a real account. A first (create) run,
then a rerun of the same window: the models are materialized window_replace (plain DELETE
and INSERT ... SELECT, macros/materializations/window_replace.sql), not dbt-snowflake's
incremental, whose qualified TEMPORARY table fakesnow cannot create."""

from __future__ import annotations

import duckdb
import pytest

from metrics_core.dbt_vars import dbt_vars_json
from metrics_core.rules import metric_rules
from metrics_core.sources import SOURCES
from tests.test_dbt_definitions import D2, D3, WINDOW, write_fixture
from tests.test_dbt_harness import _common_args, _env

fakesnow = pytest.importorskip("fakesnow")

SNOWFLAKE_ENV = {
    "METRICS_WAREHOUSE": "snowflake",
    "SNOWFLAKE_ACCOUNT": "fake",
    "SNOWFLAKE_USER": "fake",
    "SNOWFLAKE_PASSWORD": "fake",
    "SNOWFLAKE_ROLE": "fake",
    "SNOWFLAKE_WAREHOUSE": "fake",
    "SNOWFLAKE_DATABASE": "METRICS",
    "SNOWFLAKE_SCHEMA": "PUBLIC",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


@pytest.fixture(scope="module")
def snowflake_marts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    import snowflake.connector
    from dbt.cli.main import dbtRunner

    tmp = tmp_path_factory.mktemp("dbt_snowflake")
    raw = tmp / "fixture.duckdb"
    write_fixture(raw)
    fake_dir = tmp / "fakesnow"
    fake_dir.mkdir()
    with fakesnow.patch(db_path=str(fake_dir)), _env(**SNOWFLAKE_ENV):
        con = snowflake.connector.connect(database="METRICS", schema="RAW")
        cur = con.cursor()
        with duckdb.connect(str(raw), read_only=True) as src:
            for s in SOURCES.values():
                cur.execute(
                    f"create table raw.{s.name} ({', '.join(f'{c.name} {c.type}' for c in s.columns)})"
                )
                rows = src.execute(f"select * from raw.{s.name}").fetchall()
                if rows:
                    cur.executemany(
                        f"insert into raw.{s.name} values ({', '.join(['%s'] * len(rows[0]))})", rows
                    )
        # one thread: fakesnow shares one DuckDB catalog, where concurrent CREATE SCHEMA conflicts
        res = dbtRunner().invoke(
            ["build", "--threads", "1", "--vars", dbt_vars_json(*WINDOW), *_common_args(tmp / "dbt")]
        )
        assert res.success, res.exception or [
            (r.node.name, str(r.status), r.message) for r in res.result.results if str(r.status) != "success"
        ]
        out = _marts(cur)
        # the same window again: now every window_replace model takes its incremental path
        # (DELETE the window, INSERT ... SELECT) on the Snowflake dialect
        res = dbtRunner().invoke(
            ["run", "--threads", "1", "--vars", dbt_vars_json(*WINDOW), *_common_args(tmp / "dbt")]
        )
        assert res.success, res.exception
        out["rerun"] = _marts(cur)
        con.close()
    return out


def _marts(cur) -> dict[str, list[tuple]]:
    out = {}
    for table, cols in {
        "agg_engagement_daily": "day, dau, wau, mau, sessions",
        "agg_growth_daily": "day, new_users, churned_users, active_accounts",
        "agg_profit_daily": "order_date, profit_usd, orders",
        "fct_sessions": "user_id, session_date, length_seconds, events",
    }.items():
        out[table] = cur.execute(f"select {cols} from marts.{table} order by 1, 2, 3").fetchall()
    return out


def test_snowflake_rerun_of_a_window_replaces_it_exactly(snowflake_marts: dict) -> None:
    """The second run deletes and re-inserts each model's window through Snowflake SQL."""
    rerun = snowflake_marts["rerun"]
    assert {t: rows for t, rows in snowflake_marts.items() if t != "rerun"} == rerun
    assert all(rerun.values())


def test_snowflake_target_gives_the_same_numbers(snowflake_marts: dict[str, list[tuple]]) -> None:
    eng = {r[0]: tuple(r[1:]) for r in snowflake_marts["agg_engagement_daily"]}
    assert eng[D2] == (2, 2, 2, 4) and eng[D3] == (2, 3, 3, 1)
    growth = {r[0]: tuple(r[1:]) for r in snowflake_marts["agg_growth_daily"]}
    assert growth[D3] == (0, 1, 2)
    profit = {r[0]: (float(r[1]), r[2]) for r in snowflake_marts["agg_profit_daily"]}
    assert profit[D2] == (95.0, 2) and profit[D3] == (12.0, 1)
    sessions = sorted(
        (r[0], round(float(r[2]), 6), r[3]) for r in snowflake_marts["fct_sessions"] if r[1] == D2
    )
    limit = metric_rules().max_events_per_ip_minute
    assert sessions == [(3, 0.0, 1), (3, 1800.0, 2), (5, 59.0 + (limit - 1) / 1e6, limit), (5, 1200.0, 2)]
