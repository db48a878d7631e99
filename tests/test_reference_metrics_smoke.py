"""The pandas reference (tests/reference_metrics.py) on generated data.

Its numbers are checked against the generator's own ground truth (the closed-form world, not
the raw tables), and injected bad rows (test orders, duplicate and bot events, bot signups)
are shown to move the unfiltered counts but not the reference numbers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pytest

from metrics_assets.generator import make_world, write_partitions
from metrics_assets.generator.population import DAY_US, KIND_BOT, KIND_NORMAL, day_start_us
from metrics_core.sources import SOURCES
from tests import reference_metrics as ref

LAUNCH, SEED, SF = date(2025, 1, 1), 11, 0.05
DAY = date(2025, 6, 14)
START, END = DAY - timedelta(days=30), DAY + timedelta(days=3)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path_factory.mktemp("ref") / "w.duckdb"))
    for s in SOURCES:
        lo = LAUNCH if s in ("users", "account_closures") else START
        write_partitions(c, s, lo, END, scale_factor=SF, seed=SEED, launch_date=LAUNCH)
    yield c
    c.close()


@pytest.fixture(scope="module")
def world():
    return make_world(scale_factor=SF, seed=SEED, launch_date=LAUNCH)


def _rollback(con: duckdb.DuckDBPyConnection):
    con.execute("BEGIN TRANSACTION")
    return con


# ---- engagement -------------------------------------------------------------------------------------
def _true_dau(world, d: date) -> int:
    k = world.pop.k(d)
    users = set(world.pop.active(k)[0].tolist())
    lo = day_start_us(d)
    for kk in (k - 1, k):
        a = world.activation_events(kk)
        users |= set(a["user_id"][(a["t_us"] >= lo) & (a["t_us"] < lo + DAY_US)].tolist())
    return len(users)


def test_engagement_matches_the_generated_truth(con, world) -> None:
    e = ref.engagement_for_day(con, DAY)
    assert e["dau"] == _true_dau(world, DAY)
    assert 0 < e["dau"] <= e["wau"] <= e["mau"]
    assert 0.1 < e["stickiness"] < 0.9
    assert 1 <= e["sessions_per_user"] < 4
    assert 0 < e["avg_session_seconds"] < 3600
    raw_users = con.execute(
        "SELECT count(DISTINCT user_id) FROM raw.app_events WHERE event_time::DATE = ?", [DAY]
    ).fetchone()[0]
    assert raw_users > e["dau"]  # bots logged in as users would inflate an unfiltered DAU


def test_engagement_ignores_duplicates_and_bots(con) -> None:
    before = ref.engagement_for_day(con, DAY)["dau"]
    n_counted = len(ref.counted_events(con, DAY, DAY))
    c = _rollback(con)
    try:
        t = datetime(DAY.year, DAY.month, DAY.day, 12)
        ins = "INSERT INTO raw.app_events VALUES (?, ?, 'dx', NULL, 'app_open', ?, ?, ?, ?, 3)"
        # a bot user agent, logged in as a new user id
        c.execute(ins, ["bot-1", 999_000_001, t, t, "1.2.3.4", "Mozilla/5.0 (compatible; SomeBot/1.0)"])
        # a human-looking ip flooding one minute: all its events that day are bots, also outside the minute
        from metrics_core.rules import metric_rules

        n = metric_rules().max_events_per_ip_minute + 1
        for i in range(n):
            c.execute(ins, [f"fl-{i}", 999_000_002, t + timedelta(seconds=i % 60), t, "9.9.9.9", "okhttp/4"])
        c.execute(ins, ["fl-late", 999_000_003, t + timedelta(hours=5), t, "9.9.9.9", "okhttp/4"])
        # a duplicate delivery of an existing counted event
        c.execute(
            "INSERT INTO raw.app_events SELECT * REPLACE (received_at + INTERVAL 1 MINUTE AS received_at) "
            "FROM raw.app_events WHERE event_time::DATE = ? AND user_id IS NOT NULL LIMIT 1",
            [DAY],
        )
        assert ref.engagement_for_day(c, DAY)["dau"] == before
        assert len(ref.counted_events(c, DAY, DAY)) == n_counted
        c.execute(ins, ["human-1", 999_000_004, t, t, "8.8.4.4", "MarketApp/5.4.1 (iPhone; iOS 17.5)"])
        assert ref.engagement_for_day(c, DAY)["dau"] == before + 1
    finally:
        c.execute("ROLLBACK")


# ---- growth -----------------------------------------------------------------------------------------
def _true_growth(world, d: date) -> dict[str, int]:
    k = world.pop.k(d)
    uid = world.pop.ids_before(k + 1)
    kind, person = world.pop.kind_and_person(uid)
    sd = world.pop.signup_day(uid)
    close = world.pop.close_day(uid, sd, kind)
    keep = kind != KIND_BOT
    # first closure per person (over all of the person's user ids)
    first_close = {}
    for p, cday in zip(person[keep].tolist(), close[keep].tolist(), strict=True):
        first_close[p] = min(cday, first_close.get(p, cday))
    fc = np.array(list(first_close.values()))
    return {
        "new_users": int(((sd == k) & (kind == KIND_NORMAL)).sum()),
        "churned_users": int((fc == k).sum()),
        "active_accounts": int((fc > k).sum()),
    }


def test_growth_matches_the_generated_truth(con, world) -> None:
    for d in (DAY - timedelta(days=1), DAY):
        g = ref.growth_for_day(con, d)
        truth = _true_growth(world, d)
        assert {k: g[k] for k in truth} == truth, d
        assert g["net_growth"] == g["new_users"] - g["churned_users"]
        assert sum(g["new_users_by_channel"].values()) == g["new_users"]
    assert truth["active_accounts"] > 500


def test_growth_drops_bot_and_duplicate_signups(con) -> None:
    before = ref.growth_for_day(con, DAY)
    c = _rollback(con)
    try:
        t = datetime(DAY.year, DAY.month, DAY.day, 10)
        ins = "INSERT INTO raw.users VALUES (?, ?, 'organic', 'US', 'd', ?, '1.1.1.1', ?)"
        c.execute(ins, [999_000_010, t, "bot-email", "python-requests/2.31"])
        existing = c.execute(
            "SELECT email_hash FROM raw.users WHERE signed_up_at < ? LIMIT 1", [t]
        ).fetchone()[0]
        c.execute(ins, [999_000_011, t, existing, "Mozilla/5.0 (X11; Linux x86_64)"])
        c.execute("INSERT INTO raw.account_closures VALUES (1, 424242424242, ?, 'x')", [t])  # unknown user id
        assert ref.growth_for_day(c, DAY) == before
        c.execute(ins, [999_000_012, t, "new-person", "Mozilla/5.0 (X11; Linux x86_64)"])
        assert ref.growth_for_day(c, DAY)["new_users"] == before["new_users"] + 1
    finally:
        c.execute("ROLLBACK")


# ---- profit -----------------------------------------------------------------------------------------
def _true_profit(world, d: date, known_before_us: int) -> dict[str, float]:
    k = world.pop.k(d)
    o = world.orders(k)
    rate = world.fx_units(k) / 1e8
    keep = o["completed"] & ~o["is_test"]
    ids = o["order_id"][keep]

    def usd(cents, cur):
        return float((cents * rate[cur]).sum()) / 100

    revenue = usd((o["gross"] - o["discount"])[keep], o["currency"][keep])
    p = world.payments(k)
    m = p["captured"] & np.isin(p["order_id"], ids)
    fees = usd(p["fee"][m], p["currency"][m])
    c = world.order_costs(k)
    m = np.isin(c["order_id"], ids)
    costs = usd(c["amount"][m], c["currency"][m])
    r = world.refunds(k)
    m = np.isin(r["order_id"], ids) & (r["t_us"] < known_before_us)
    refunds = usd(r["amount"][m], r["currency"][m])
    return {
        "revenue_usd": revenue,
        "refunds_usd": refunds,
        "cost_usd": costs + fees,
        "profit_usd": revenue - refunds - costs - fees,
        "orders": int(keep.sum()),
    }


def test_profit_matches_the_generated_truth(con, world) -> None:
    for d in (DAY - timedelta(days=9), DAY):
        got = ref.profit_for_day(con, d)
        truth = _true_profit(world, d, day_start_us(END))
        assert got["orders"] == truth["orders"] > 100
        for a in ref.AMOUNTS:
            assert got[a] == pytest.approx(truth[a], abs=0.01), (d, a)
        assert sum(r["orders"] for r in got["by_region"].values()) == got["orders"]
        assert sum(r["profit_usd"] for r in got["by_region"].values()) == pytest.approx(
            got["profit_usd"], abs=1e-6
        )
        assert 0 < got["profit_usd"] < got["revenue_usd"]
    older = ref.profit_for_day(con, DAY - timedelta(days=9))
    assert older["refunds_usd"] > 0


def test_profit_as_of_only_counts_known_refunds(con) -> None:
    d = DAY - timedelta(days=9)
    all_known = ref.profit_for_day(con, d)
    early = ref.profit_for_day(con, d, as_of=datetime(d.year, d.month, d.day) + timedelta(days=1))
    assert early["refunds_usd"] < all_known["refunds_usd"]
    assert early["revenue_usd"] == all_known["revenue_usd"]


def test_profit_excludes_test_and_unfinished_orders_and_converts_fx(con) -> None:
    before = ref.profit_for_day(con, DAY)
    c = _rollback(con)
    try:
        t = datetime(DAY.year, DAY.month, DAY.day, 23, 59, 59)
        ins = "INSERT INTO raw.orders VALUES (?, 1, ?, ?, ?, 0, 'na', ?, ?)"
        c.execute(ins, [1, t, "USD", 100000, "completed", True])  # test order
        c.execute(ins, [2, t, "USD", 100000, "pending", False])
        c.execute(ins, [3, t + timedelta(seconds=1), "USD", 100000, "completed", False])  # next UTC day
        assert ref.profit_for_day(c, DAY) == before
        c.execute(ins, [4, t, "GBP", 100, "completed", False])
        gbp = c.execute(
            "SELECT usd_per_unit FROM raw.fx_rates WHERE rate_date = ? AND currency = 'GBP'", [DAY]
        ).fetchone()[0]
        after = ref.profit_for_day(c, DAY)
        assert after["revenue_usd"] == pytest.approx(before["revenue_usd"] + 100 * float(gbp))
        assert after["orders"] == before["orders"] + 1
        c.execute(ins, [5, t, "CHF", 100, "completed", False])
        with pytest.raises(ValueError, match="no rate for \\['CHF'\\]"):
            ref.profit_for_day(c, DAY)
    finally:
        c.execute("ROLLBACK")
