"""Spot checks of the metric definitions (shared/spec/metrics.md) on a hand-made raw fixture,
built with the real dbt project: each case below is a rule the SQL must get exactly right."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from metrics_core.rules import metric_rules
from tests.test_dbt_harness import build_window, create_raw_tables

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
UA = "Mozilla/5.0 (iPhone) MetricsApp/3.2"
FLOOD_IP, BUSY_IP, HOME_IP = "10.0.0.66", "10.0.0.77", "10.0.0.1"


def ts(day: date, hh: int, mm: int, ss: int = 0, us: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, us)


def _events() -> list[tuple]:
    """(event_id, user_id, event_type, event_time, received_at, ip, user_agent)"""
    limit = metric_rules().max_events_per_ip_minute
    ev: list[tuple] = [
        # duplicate: the copy received first (login) is inserted last and must win
        ("dup-1", 3, "screen_view", ts(D2, 10, 0), ts(D2, 10, 0, 9), HOME_IP, UA),
        ("dup-1", 3, "login", ts(D2, 10, 0), ts(D2, 10, 0, 5), HOME_IP, UA),
        # user 3: gap of exactly 30 min stays in the session, 30 min 1 s splits it
        ("s-2", 3, "search", ts(D2, 10, 30), ts(D2, 10, 30, 1), HOME_IP, UA),
        ("s-3", 3, "search", ts(D2, 11, 0, 1), ts(D2, 11, 0, 2), HOME_IP, UA),
        # user 5: a session crossing midnight belongs to its first day
        ("m-1", 5, "app_open", ts(D2, 23, 50), ts(D2, 23, 50, 1), HOME_IP, UA),
        ("m-2", 5, "screen_view", ts(D3, 0, 10), ts(D3, 0, 10, 1), HOME_IP, UA),
        # bot user agent and an anonymous event never count
        ("ua-bot", 3, "search", ts(D2, 12, 0), ts(D2, 12, 0, 1), HOME_IP, "python-requests/2.31"),
        ("anon", None, "app_open", ts(D2, 12, 5), ts(D2, 12, 5, 1), HOME_IP, UA),
        # user 1 uses the flood ip later that day (bot traffic) and again the next day (counts)
        ("f-late", 1, "search", ts(D2, 18, 0), ts(D2, 18, 0, 1), FLOOD_IP, UA),
        ("f-next", 1, "search", ts(D3, 9, 0), ts(D3, 9, 0, 1), FLOOD_IP, UA),
    ]
    # one event above the per-ip-minute limit: all of the ip's events that day are bot traffic
    ev += [
        (f"flood-{i}", None, "screen_view", ts(D2, 14, 5, i % 60, i), ts(D2, 14, 6), FLOOD_IP, UA)
        for i in range(limit + 1)
    ]
    # exactly the limit is not a flood
    ev += [
        (f"busy-{i}", 5, "screen_view", ts(D2, 15, 0, i % 60, i), ts(D2, 15, 1), BUSY_IP, UA)
        for i in range(limit)
    ]
    return ev


WINDOW = (D1, D3 + timedelta(days=2))


def write_fixture(db: Path) -> None:
    """The hand-made raw tables (also used by the Snowflake-dialect test)."""
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
        con.executemany(
            "insert into raw.users values (?, ?, ?, 'US', ?, ?, '1.2.3.4', ?)",
            [
                (1, ts(D1, 9, 0), "organic", "dev1", "h1", UA),
                (2, ts(D2, 10, 0), "paid_search", "dev2", "h1", UA),  # same person, second channel
                (3, ts(D1, 12, 0), "referral", "dev3", "h3", UA),
                (4, ts(D1, 13, 0), "display", "dev4", "h4", "Googlebot/2.1"),  # bot signup
                (5, ts(D2, 8, 0), "display", "dev5", "h5", UA),
            ],
        )
        con.executemany(
            "insert into raw.account_closures values (?, ?, ?, 'user_request')",
            [
                (1, 2, ts(D3, 10, 0)),  # person h1 churns on D3 ...
                (2, 1, ts(D3, 15, 0)),  # ... once, although both of their user ids close
                (3, 999, ts(D3, 11, 0)),  # unknown user id: a data error, not churn
            ],
        )
        con.executemany(
            "insert into raw.app_events values (?, ?, 'dev', null, ?, ?, ?, ?, ?, 1)",
            [(e[0], e[1], e[2], e[3], e[4], e[5], e[6]) for e in _events()],
        )
        con.executemany(
            "insert into raw.fx_rates values (?, ?, ?, 'fx-test-1')",
            [
                (D1 + timedelta(days=i), c, r)
                for i in range(4)
                for c, r in (("USD", Decimal("1")), ("EUR", Decimal("1.1") + Decimal(i) / 10))
            ],
        )
        con.executemany(
            "insert into raw.orders values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, ts(D2, 9, 0), "USD", Decimal("100.00"), Decimal("10.00"), "na", "completed", False),
                (2, 1, ts(D2, 9, 5), "USD", Decimal("999.00"), Decimal("0"), "na", "completed", True),  # test
                (
                    3,
                    3,
                    ts(D2, 23, 59, 59, 999999),
                    "EUR",
                    Decimal("50.00"),
                    Decimal("0"),
                    "emea",
                    "completed",
                    False,
                ),
                (4, 3, ts(D2, 11, 0), "USD", Decimal("70.00"), Decimal("0"), "na", "pending", False),
                (5, 5, ts(D3, 0, 0), "USD", Decimal("20.00"), Decimal("0"), "na", "completed", False),
            ],
        )
        con.executemany(
            "insert into raw.order_costs values (?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, ts(D2, 9, 1), "cogs", Decimal("30.00"), "USD", "na"),
                (2, 3, ts(D3, 0, 1), "fulfillment", Decimal("5.00"), "EUR", "emea"),
                (3, 5, ts(D3, 0, 1), "cogs", Decimal("8.00"), "USD", "na"),
            ],
        )
        con.executemany(
            "insert into raw.payments values (?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, ts(D2, 9, 0, 30), Decimal("89.00"), "USD", Decimal("1.00"), "failed"),
                (2, 1, ts(D2, 9, 0, 40), Decimal("90.00"), "USD", Decimal("2.00"), "captured"),
            ],
        )
        con.executemany(
            "insert into raw.refunds values (?, ?, ?, ?, ?)",
            [
                (1, 1, ts(D3, 12, 0), Decimal("5.00"), "USD"),
                (
                    2,
                    3,
                    ts(D3 + timedelta(days=1), 8, 0),
                    Decimal("10.00"),
                    "EUR",
                ),  # converts at the order day's rate
            ],
        )
        con.executemany(
            "insert into raw.experiment_assignments values (?, ?, ?, ?)",
            [
                (1, "e1", "treatment", ts(D1, 9, 30)),  # before order 1
                (3, "e1", "control", ts(D3, 12, 0)),  # after order 3: not in the profit cut
            ],
        )


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_defs")
    db = tmp / "fixture.duckdb"
    write_fixture(db)
    build_window(db, tmp / "dbt", *WINDOW)
    return db


def q(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_dedup_keeps_first_received_copy(fixture_db: Path) -> None:
    assert q(fixture_db, "select event_type, received_at from marts.fct_events where event_id = 'dup-1'") == [
        ("login", ts(D2, 10, 0, 5))
    ]
    raw, dup = q(
        fixture_db,
        f"select raw_events, duplicate_events from marts.agg_event_quality_daily where day = '{D2}'",
    )[0]
    assert dup == 1 and raw == len([e for e in _events() if e[3].date() == D2])


def test_ip_flood_makes_the_ips_whole_day_bot_traffic(fixture_db: Path) -> None:
    counted = {r[0] for r in q(fixture_db, "select event_id from marts.fct_events")}
    assert "f-late" not in counted  # same ip, other minute, same day
    assert "f-next" in counted  # same ip, next day
    assert "ua-bot" not in counted and "anon" not in counted
    limit = metric_rules().max_events_per_ip_minute
    assert sum(e.startswith("busy-") for e in counted) == limit  # exactly the limit is not a flood
    row = q(
        fixture_db,
        f"select flood_ips, flood_ip_events, bot_ua_events, anonymous_events "
        f"from marts.agg_event_quality_daily where day = '{D2}'",
    )[0]
    assert row == (1, limit + 2, 1, 1)  # "anon" only: the flood's anonymous events are bot traffic


def test_sessions_split_above_the_gap_and_cross_midnight(fixture_db: Path) -> None:
    rows = q(
        fixture_db,
        "select user_id, session_date, session_start, length_seconds, events "
        "from marts.fct_sessions where user_id in (3, 5) order by session_start",
    )
    user3 = [r for r in rows if r[0] == 3]
    assert [(r[3], r[4]) for r in user3] == [(1800.0, 2), (0.0, 1)]
    midnight = [r for r in rows if r[0] == 5 and r[2] == ts(D2, 23, 50)]
    assert midnight == [(5, D2, ts(D2, 23, 50), 1200.0, 2)]
    assert q(
        fixture_db, "select count(*) from marts.fct_sessions where session_date = ?".replace("?", f"'{D3}'")
    ) == [(1,)]  # user 1's flood-ip event of D3; user 5's 00:10 event is not a new session


def test_dau_wau_mau(fixture_db: Path) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in q(fixture_db, "select day, dau, wau, mau, sessions from marts.agg_engagement_daily")
    )
    assert rows[D2] == (2, 2, 2, 4)  # users 3 and 5; user 3: 2 sessions, user 5: busy burst + midnight
    assert rows[D3] == (2, 3, 3, 1)  # users 1 and 5; WAU/MAU add user 3 from D2


def test_multi_channel_signup_counted_once_and_bots_dropped(fixture_db: Path) -> None:
    persons = q(
        fixture_db,
        "select person_id, first_user_id, acquisition_channel, user_ids, first_closure_at "
        "from marts.dim_persons order by person_id",
    )
    assert persons == [
        ("h1", 1, "organic", 2, ts(D3, 10, 0)),
        ("h3", 3, "referral", 1, None),
        ("h5", 5, "display", 1, None),
    ]
    assert q(fixture_db, "select is_bot_signup, person_id from marts.dim_users where user_id = 4") == [
        (True, None)
    ]
    growth = {
        r[0]: r[1:]
        for r in q(
            fixture_db,
            "select day, new_users, churned_users, net_growth, active_accounts from marts.agg_growth_daily",
        )
    }
    assert growth[D1] == (2, 0, 2, 2)
    assert growth[D2] == (1, 0, 1, 3)  # user 2 (h1 again) is not new


def test_closure_of_unknown_user_is_not_churn(fixture_db: Path) -> None:
    assert q(
        fixture_db, f"select churned_users, active_accounts from marts.agg_growth_daily where day = '{D3}'"
    ) == [(1, 2)]
    assert q(
        fixture_db,
        f"select closures, closures_unknown_user from marts.agg_signup_quality_daily where day = '{D3}'",
    ) == [(3, 1)]
    monthly = q(fixture_db, "select new_users, churned_users, active_accounts from marts.agg_growth_monthly")
    assert monthly == [(3, 1, 2)]


def test_order_profit_in_usd_at_the_order_days_rate(fixture_db: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in q(
            fixture_db,
            "select order_id, order_date, revenue_usd, refunds_usd, cost_usd, "
            "profit_usd from marts.fct_order_profit",
        )
    }
    assert set(rows) == {1, 3, 5}  # no test order, no pending order
    assert rows[1] == (D2, Decimal(90), Decimal(5), Decimal(32), Decimal(53))  # failed payment's fee excluded
    # EUR at D2's rate 1.2, also for the refund landing two days later and the cost line of D3
    assert rows[3] == (D2, Decimal("60"), Decimal("12"), Decimal("6"), Decimal("42"))
    assert rows[5][0] == D3  # 00:00:00 belongs to the new day
    daily = {
        r[0]: r[1:]
        for r in q(fixture_db, "select order_date, profit_usd, orders from marts.agg_profit_daily")
    }
    assert daily[D2] == (Decimal(95), 2) and daily[D3] == (Decimal(12), 1)
    assert q(fixture_db, "select sum(profit_usd), sum(orders) from marts.agg_profit_monthly") == [
        (Decimal(107), 3)
    ]


def test_experiment_cuts(fixture_db: Path) -> None:
    assert q(
        fixture_db,
        "select experiment_id, variant, order_date, orders, profit_usd "
        "from marts.agg_profit_experiment_daily",
    ) == [("e1", "treatment", D2, 1, Decimal(53))]
    rows = q(
        fixture_db,
        "select day, variant, channel, new_users, activated_users "
        "from marts.agg_growth_experiment_daily order by variant",
    )
    # h3 has a counted event 22 h after signup; h1's first counted event is 48 h after
    assert rows == [(D1, "control", "referral", 1, 1), (D1, "treatment", "organic", 1, 0)]


def test_retention_counts_any_user_id_of_the_person(fixture_db: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in q(
            fixture_db,
            "select cohort_date, cohort_size, d1_retained, d7_retained from marts.agg_retention_cohorts",
        )
    }
    assert rows[D1] == (2, 1, None)  # h3 active on D2; D7 not observable yet


def test_an_edited_model_is_reparsed_under_dagster_dev(tmp_path, monkeypatch):
    """`dagster dev` (DAGSTER_IS_DEV_CLI) re-parses the dbt project when a model changed since the
    manifest was written, and only then; outside dev the cached manifest is kept."""
    import os
    import time

    from dagster_dbt import DbtProject

    from metrics_assets.transform import dbt_assets
    from metrics_assets.transform.dbt_assets import ensure_manifest, manifest_is_stale

    project_dir = tmp_path / "dbt"
    (project_dir / "models").mkdir(parents=True)
    (project_dir / "dbt_project.yml").write_text("name: t\n")
    model = project_dir / "models" / "m.sql"
    model.write_text("select 1 as x\n")
    manifest = project_dir / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    old = time.time() - 60
    os.utime(model, (old, old))
    os.utime(project_dir / "dbt_project.yml", (old, old))
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    calls = []
    monkeypatch.setattr(dbt_assets, "parse_project", lambda p: calls.append(p))

    assert not manifest_is_stale(project_dir, manifest)
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    ensure_manifest(project)
    assert calls == []  # unchanged: no re-parse
    model.write_text("select 2 as x\n")  # edited after the manifest
    assert manifest_is_stale(project_dir, manifest)
    ensure_manifest(project)
    assert calls == [project]
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI")
    ensure_manifest(project)
    assert calls == [project]  # outside dev the cached manifest is used
