"""The published numbers equal an independent pandas recomputation from the raw tables
(tests/reference_metrics.py, written from shared/spec/metrics.md without reading the dbt SQL)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests import reference_metrics as ref

DAYS = [date(2026, 9, 1), date(2026, 9, 6), date(2026, 9, 10)]  # a Tuesday, a Sunday, the window's last day
CENT = 0.01


@pytest.fixture(scope="module")
def con(small_world):
    c = duckdb.connect(str(small_world.path), read_only=True)
    yield c
    c.close()


def _row(con, sql: str, day: date) -> dict:
    df = con.execute(sql, [day]).df()
    assert len(df) == 1, f"expected one row for {day}, got {len(df)}"
    return df.iloc[0].to_dict()


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_profit_matches_to_the_cent(con, day):
    mart = _row(con, "select * from marts.agg_profit_daily where order_date = ?", day)
    expected = ref.profit_for_day(con, day)
    assert mart["orders"] == expected["orders"]
    for amount in ("revenue_usd", "refunds_usd", "cost_usd", "profit_usd"):
        assert float(mart[amount]) == pytest.approx(expected[amount], abs=CENT), amount
    assert float(mart["profit_usd"]) == pytest.approx(
        float(mart["revenue_usd"]) - float(mart["refunds_usd"]) - float(mart["cost_usd"]), abs=CENT
    )


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_profit_by_region_matches(con, day):
    rows = con.execute(
        "select region, profit_usd, orders from marts.agg_profit_daily_by_region where order_date = ?", [day]
    ).df()
    expected = ref.profit_for_day(con, day)["by_region"]
    assert set(rows["region"]) == set(expected)
    for r in rows.itertuples():
        assert r.orders == expected[r.region]["orders"]
        assert float(r.profit_usd) == pytest.approx(expected[r.region]["profit_usd"], abs=CENT)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_growth_matches_to_the_user(con, day):
    mart = _row(con, "select * from marts.agg_growth_daily where day = ?", day)
    expected = ref.growth_for_day(con, day)
    for k in ("new_users", "churned_users", "net_growth", "active_accounts"):
        assert int(mart[k]) == expected[k], k


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_engagement_matches_to_the_user(con, day):
    mart = _row(con, "select * from marts.agg_engagement_daily where day = ?", day)
    expected = ref.engagement_for_day(con, day)
    for k in ("dau", "wau", "mau"):
        assert int(mart[k]) == expected[k], k
    assert float(mart["stickiness"]) == pytest.approx(expected["stickiness"], rel=1e-9)
    assert int(mart["sessions"]) == expected["sessions"]


def test_reference_is_not_trivially_equal(con):
    """Guard: the numbers compared above are real, non-zero volumes."""
    day = DAYS[-1]
    assert ref.profit_for_day(con, day)["orders"] > 50
    assert ref.engagement_for_day(con, day)["dau"] > 100
    assert ref.growth_for_day(con, day)["active_accounts"] > 500
