"""The synthetic generator: contract, determinism, referential sanity and messy-part base rates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml
from scipy.stats import chisquare

from metrics_assets.generator import ensure_raw_tables, make_world, write_partitions
from metrics_assets.generator.settings import generator_settings, load_generator_settings
from metrics_assets.generator.world import BOT_UAS, FLOOD_UA, NORMAL_UAS, World
from metrics_core.config import ConfigError
from metrics_core.experiments import load_experiments
from metrics_core.rules import metric_rules
from metrics_core.sources import SOURCES

LAUNCH = date(2025, 1, 1)
SEED = 7
SF = 0.05
START, END = date(2025, 4, 20), date(2025, 5, 4)  # 14 days, all sources
CHECK_FROM = date(2025, 5, 1)  # lines landing from here point to orders inside the window


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days)]


def _write(con: duckdb.DuckDBPyConnection, source: str, a: date, b: date, sf: float = SF, **kw) -> int:
    return write_partitions(con, source, a, b, scale_factor=sf, seed=SEED, launch_date=LAUNCH, **kw)


def checksum(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    return con.execute(
        "SELECT count(*), coalesce(md5(string_agg(t::VARCHAR, chr(10) ORDER BY t::VARCHAR)), '') "
        f"FROM {table} t"
    ).fetchone()


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path_factory.mktemp("gen") / "w.duckdb"))
    _write(c, "users", LAUNCH, END)
    for s in SOURCES:
        if s != "users":
            _write(c, s, START, END)
    yield c
    c.close()


# ---- contract -----------------------------------------------------------------------------------------
def test_schema_equals_the_raw_contract(con: duckdb.DuckDBPyConnection) -> None:
    for s in SOURCES.values():
        got = con.execute(f"DESCRIBE {s.table}").fetchall()
        assert [(r[0], r[1]) for r in got] == [(c.name, c.type) for c in s.columns], s.name


def test_non_nullable_columns_have_no_nulls(con: duckdb.DuckDBPyConnection) -> None:
    for s in SOURCES.values():
        for c in s.columns:
            nulls = con.execute(f"SELECT count(*) FROM {s.table} WHERE {c.name} IS NULL").fetchone()[0]
            assert c.nullable or nulls == 0, f"{s.name}.{c.name} has {nulls} nulls"


def test_every_source_has_rows_every_day(con: duckdb.DuckDBPyConnection) -> None:
    for s in SOURCES.values():
        if s.name in ("refunds", "account_closures", "users"):
            continue  # a few a day at SF 0.05: some days may have none
        days = con.execute(f"SELECT count(DISTINCT {s.partition_column}::DATE) FROM {s.table}").fetchone()[0]
        assert days == len(_days(START, END)), s.name


def test_partitions_hold_only_their_days(con: duckdb.DuckDBPyConnection) -> None:
    def day(v: date | datetime) -> date:
        return v.date() if isinstance(v, datetime) else v

    for s in SOURCES.values():
        lo = LAUNCH if s.name == "users" else START
        got = con.execute(
            f"SELECT min({s.partition_column}), max({s.partition_column}) FROM {s.table}"
        ).fetchone()
        assert lo <= day(got[0]) and day(got[1]) < END, s.name


# ---- determinism -------------------------------------------------------------------------------------
def test_same_day_twice_is_identical_and_range_equals_single_days(tmp_path: Path) -> None:
    a, b = duckdb.connect(str(tmp_path / "a.duckdb")), duckdb.connect(str(tmp_path / "b.duckdb"))
    lo, hi = date(2025, 3, 3), date(2025, 3, 6)
    for s in SOURCES:
        n_range = _write(a, s, lo, hi)
        n_single = sum(_write(b, s, d, d + timedelta(days=1)) for d in reversed(_days(lo, hi)))
        assert n_range == n_single, s
        assert checksum(a, f"raw.{s}") == checksum(b, f"raw.{s}"), s
        before = checksum(a, f"raw.{s}")
        _write(a, s, lo + timedelta(days=1), lo + timedelta(days=2))  # regenerate the middle day
        assert checksum(a, f"raw.{s}") == before, f"{s}: regenerating a day changed rows"


def test_committing_a_range_in_chunks_writes_the_same_rows(tmp_path: Path) -> None:
    """generate_range commits a week at a time (bounded memory); the rows are those of one
    transaction, and the progress counts days across the chunks."""
    from metrics_assets.generator import Progress

    a, b = duckdb.connect(str(tmp_path / "a.duckdb")), duckdb.connect(str(tmp_path / "b.duckdb"))
    lo, hi = date(2025, 3, 3), date(2025, 3, 10)
    lines: list[str] = []
    for s in ("orders", "app_events"):
        n_one = _write(a, s, lo, hi)
        n_chunked = _write(b, s, lo, hi, commit_days=3, progress=Progress(emit=lines.append, every_s=0))
        assert n_one == n_chunked > 0, s
        assert checksum(a, f"raw.{s}") == checksum(b, f"raw.{s}"), s
    assert lines[-1].startswith("generator app_events: day 7/7 (2025-03-09)"), lines[-1]


def test_rows_do_not_depend_on_process_cache(tmp_path: Path) -> None:
    """A fresh, uncached world (own settings object) yields the same rows as the cached one."""
    a, b = duckdb.connect(str(tmp_path / "a.duckdb")), duckdb.connect(str(tmp_path / "b.duckdb"))
    d = date(2025, 2, 10)
    for s in ("orders", "refunds", "app_events", "users"):
        _write(a, s, d, d + timedelta(days=1))
        _write(b, s, d, d + timedelta(days=1), settings=generator_settings().model_copy())
        assert checksum(a, f"raw.{s}") == checksum(b, f"raw.{s}"), s


def test_seed_changes_the_world(tmp_path: Path) -> None:
    a = duckdb.connect(str(tmp_path / "a.duckdb"))
    d = date(2025, 2, 10)
    write_partitions(a, "orders", d, d + timedelta(days=1), scale_factor=SF, seed=1, launch_date=LAUNCH)
    one = checksum(a, "raw.orders")
    write_partitions(a, "orders", d, d + timedelta(days=1), scale_factor=SF, seed=2, launch_date=LAUNCH)
    assert checksum(a, "raw.orders") != one


def test_days_before_launch_are_empty_and_ensure_is_idempotent() -> None:
    c = duckdb.connect()
    ensure_raw_tables(c)
    ensure_raw_tables(c)
    assert _write(c, "orders", date(2024, 12, 1), LAUNCH) == 0
    with pytest.raises(KeyError, match="unknown raw source 'order'"):
        _write(c, "order", LAUNCH, LAUNCH)


# ---- referential sanity ------------------------------------------------------------------------------
def test_ids_are_unique(con: duckdb.DuckDBPyConnection) -> None:
    for s in SOURCES.values():
        if not s.primary_key:
            continue
        key = ", ".join(s.primary_key)
        dup = con.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {s.table} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        assert dup[0] == 0, f"{s.name}: duplicate {key}"


def test_order_lines_point_to_existing_orders(con: duckdb.DuckDBPyConnection) -> None:
    for table, col in (("payments", "paid_at"), ("refunds", "refunded_at"), ("order_costs", "recorded_at")):
        orphans = con.execute(
            f"SELECT count(*) FROM raw.{table} x ANTI JOIN raw.orders o USING (order_id) WHERE x.{col} >= ?",
            parameters=[CHECK_FROM],
        ).fetchone()[0]
        assert orphans == 0, table
        wrong = con.execute(
            f"SELECT count(*) FROM raw.{table} x JOIN raw.orders o USING (order_id) "
            f"WHERE x.{col} < o.created_at OR x.currency <> o.currency"
        ).fetchone()[0]
        assert wrong == 0, f"{table}: line before its order or in another currency"


def test_refunds_land_within_ten_days_and_never_exceed_revenue(con: duckdb.DuckDBPyConnection) -> None:
    lag_max, over, not_completed = con.execute(
        "SELECT max(r.refunded_at - o.created_at), count(*) FILTER (r.amount > o.gross_amount - o.discount), "
        "count(*) FILTER (o.status <> 'completed') FROM raw.refunds r JOIN raw.orders o USING (order_id)"
    ).fetchone()
    assert lag_max <= timedelta(days=generator_settings().refund_max_lag_days)
    assert over == 0 and not_completed == 0


def test_users_referenced_exist_before_use(con: duckdb.DuckDBPyConnection) -> None:
    for table, col in (
        ("orders", "created_at"),
        ("app_events", "event_time"),
        ("account_closures", "closed_at"),
        ("experiment_assignments", "assigned_at"),
    ):
        bad = con.execute(
            f"SELECT count(*) FROM raw.{table} x LEFT JOIN raw.users u USING (user_id) "
            f"WHERE x.user_id IS NOT NULL AND (u.user_id IS NULL OR u.signed_up_at > x.{col})"
        ).fetchone()[0]
        assert bad == 0, f"{table}: user ids that had not signed up"


def test_completed_orders_have_cogs_and_fulfillment(con: duckdb.DuckDBPyConnection) -> None:
    """Clean data passes the cost-coverage check (>= 99.5% per region); here it is exactly 100%."""
    rows = con.execute(
        """
        SELECT o.region, count(*) AS n,
               count(*) FILTER (c.has_cogs AND c.has_ful) AS covered,
               count(*) FILTER (c.has_ship) AS shipped
        FROM raw.orders o LEFT JOIN (
            SELECT order_id, bool_or(cost_type = 'cogs') has_cogs, bool_or(cost_type = 'fulfillment') has_ful,
                   bool_or(cost_type = 'shipping') has_ship
            FROM raw.order_costs GROUP BY 1) c USING (order_id)
        WHERE o.status = 'completed' AND o.created_at < ?::DATE - INTERVAL 1 DAY GROUP BY 1
        """,
        parameters=[END],
    ).fetchall()
    assert {r[0] for r in rows} == set(generator_settings().regions)
    for region, n, covered, shipped in rows:
        assert covered == n, region
        assert 0.7 * n < shipped < n, region
    types = {r[0] for r in con.execute("SELECT DISTINCT cost_type FROM raw.order_costs").fetchall()}
    assert types == set(metric_rules().cost_types)
    assert (
        con.execute(
            "SELECT count(*) FROM raw.order_costs o2 JOIN raw.orders o USING (order_id) "
            "WHERE o.status <> 'completed'"
        ).fetchone()[0]
        == 0
    )


def test_every_currency_has_a_rate_every_day(con: duckdb.DuckDBPyConnection) -> None:
    missing = con.execute(
        """
        WITH used AS (
          SELECT created_at::DATE d, currency FROM raw.orders
          UNION SELECT o.created_at::DATE, r.currency
                FROM raw.refunds r JOIN raw.orders o USING (order_id)
          UNION SELECT o.created_at::DATE, c.currency
                FROM raw.order_costs c JOIN raw.orders o USING (order_id))
        SELECT count(*) FROM used
        ANTI JOIN raw.fx_rates f ON f.rate_date = used.d AND f.currency = used.currency
        """
    ).fetchone()[0]
    assert missing == 0
    usd = con.execute("SELECT DISTINCT usd_per_unit FROM raw.fx_rates WHERE currency = 'USD'").fetchall()
    assert usd == [(1,)]
    cur = {r[0] for r in con.execute("SELECT DISTINCT currency FROM raw.orders").fetchall()}
    assert {"USD", "EUR", "GBP", "INR"} <= cur
    per_day = con.execute("SELECT count(*) FROM raw.fx_rates GROUP BY rate_date").fetchall()
    assert {r[0] for r in per_day} == {len(generator_settings().currencies)}


def test_marketing_spend_one_row_per_channel_per_day(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT spend_date, count(*), count(DISTINCT channel) FROM raw.marketing_spend GROUP BY 1"
    ).fetchall()
    assert len(rows) == len(_days(START, END))
    assert all(n == k == len(generator_settings().channels) for _, n, k in rows)


def test_event_types_are_accepted_and_received_after_event(con: duckdb.DuckDBPyConnection) -> None:
    types = {r[0] for r in con.execute("SELECT DISTINCT event_type FROM raw.app_events").fetchall()}
    assert types <= set(metric_rules().accepted_event_types)
    lag = con.execute(
        "SELECT min(received_at - event_time), max(received_at - event_time) FROM raw.app_events"
    ).fetchone()
    assert timedelta(0) < lag[0] and lag[1] < timedelta(hours=1)


# ---- experiments -------------------------------------------------------------------------------------
def test_assignments_once_per_user_and_experiment_after_signup(con: duckdb.DuckDBPyConnection) -> None:
    leaks = con.execute(
        "SELECT count(*) FROM (SELECT user_id, experiment_id FROM raw.experiment_assignments GROUP BY ALL "
        "HAVING count(DISTINCT variant) > 1 OR count(*) > 1)"
    ).fetchone()[0]
    assert leaks == 0
    exps = load_experiments()
    for e in exps.experiments:
        got = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT variant FROM raw.experiment_assignments WHERE experiment_id = ?",
                parameters=[e.id],
            ).fetchall()
        }
        running = e.start_date < END and (e.end_date is None or e.end_date > START)
        assert got <= set(e.variants) and (bool(got) == running), e.id


def test_assignment_counts_match_the_configured_split() -> None:
    """A strict SRM test (p > 0.001) passes on clean data over 400 days of signups at SF 1."""
    w = make_world(scale_factor=1.0, seed=SEED, launch_date=LAUNCH)
    frames = [w.assignments(k) for k in range(60, 460)]
    variant = np.concatenate([f["variant"] for f in frames])
    exp = np.concatenate([f["exp"] for f in frames])
    for ei, e in enumerate(w.exps.experiments):
        codes = [w.variant_names.index(v) for v in e.variants]
        counts = np.array([(variant[exp == ei] == c).sum() for c in codes])
        assert counts.sum() > 5000, e.id
        p = chisquare(counts, counts.sum() * np.array(list(e.variants.values()))).pvalue
        assert p > 0.001, (e.id, counts)


# ---- messy parts at their base rates -----------------------------------------------------------------
def test_signup_kinds_at_configured_rates() -> None:
    """Bot and multi-channel duplicate signups over the first 60k user ids, from the closed-form world."""
    w = make_world(scale_factor=1.0, seed=SEED, launch_date=LAUNCH)
    cfg = w.cfg
    uid = w.pop.ids_before(400)[:60_000]
    kind, person = w.pop.kind_and_person(uid)
    assert abs((kind == 1).mean() - cfg.bot_signup_rate) < 0.003
    dup = kind == 2
    assert 0.5 * cfg.duplicate_signup_rate < dup.mean() < 1.05 * cfg.duplicate_signup_rate
    assert (person[dup] < uid[dup]).all()  # the person's first record is earlier
    ch = w.pop.channel(uid, kind, person)
    assert (ch[dup] != w.pop.own_channel(person[dup])).all()


def test_duplicate_signups_share_email_with_an_earlier_record(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT count(*), count(*) FILTER (count_distinct_channel = n), min(n) FROM ("
        " SELECT email_hash, count(*) n, count(DISTINCT channel) count_distinct_channel FROM raw.users"
        " GROUP BY 1 HAVING count(*) > 1)"
    ).fetchone()
    persons = con.execute("SELECT count(DISTINCT email_hash) FROM raw.users").fetchone()[0]
    assert rows[0] > 0 and rows[1] == rows[0]  # every duplicate came through another channel
    assert rows[0] / persons < 3 * generator_settings().duplicate_signup_rate


def test_bot_signups_match_the_bot_patterns(con: duckdb.DuckDBPyConnection) -> None:
    share = con.execute(
        "SELECT avg(regexp_matches(user_agent, ?, 'i')::INT) FROM raw.users",
        parameters=[metric_rules().bot_regex],
    ).fetchone()[0]
    assert 0 < share < 4 * generator_settings().bot_signup_rate


def test_event_messiness_rates(con: duckdb.DuckDBPyConnection) -> None:
    cfg, rules = generator_settings(), metric_rules()
    n, distinct_ids, anon, bot_ua = con.execute(
        "SELECT count(*), count(DISTINCT event_id), avg((user_id IS NULL)::INT), "
        "avg(regexp_matches(user_agent, ?, 'i')::INT) FROM raw.app_events",
        parameters=[rules.bot_regex],
    ).fetchone()
    dup_rate = 1 - distinct_ids / n
    assert 0.7 * cfg.duplicate_event_rate < dup_rate < 1.3 * cfg.duplicate_event_rate
    assert 0.5 * cfg.anonymous_event_rate < anon < 1.5 * cfg.anonymous_event_rate + cfg.bot_ua_event_rate
    assert 0.5 * cfg.bot_ua_event_rate < bot_ua < 1.5 * cfg.bot_ua_event_rate
    dup_later = con.execute(
        "SELECT bool_and(n_recv = 2) FROM (SELECT event_id, count(DISTINCT received_at) n_recv, "
        "count(DISTINCT event_time) n_t FROM raw.app_events GROUP BY 1 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dup_later  # duplicates are the same event received twice


def test_ip_floods_every_day_and_only_from_flood_ips(con: duckdb.DuckDBPyConnection) -> None:
    rules = metric_rules()
    rows = con.execute(
        """
        SELECT event_time::DATE d, ip, max(n) FROM (
          SELECT ip, date_trunc('minute', event_time) m, event_time, count(DISTINCT event_id) OVER w n
          FROM raw.app_events WINDOW w AS (PARTITION BY ip, date_trunc('minute', event_time)))
        GROUP BY 1, 2 HAVING max(n) > ?
        """,
        parameters=[rules.max_events_per_ip_minute],
    ).fetchall()
    assert {r[0] for r in rows} == set(_days(START, END))
    assert all(r[1].startswith("100.") for r in rows)
    # the flood ips look human by user agent: only the rate rule catches them
    uas = con.execute("SELECT DISTINCT user_agent FROM raw.app_events WHERE ip LIKE '100.%'").fetchall()
    assert uas == [(FLOOD_UA,)]


def test_orders_messiness_rates(con: duckdb.DuckDBPyConnection) -> None:
    cfg = generator_settings()
    n, test_share, non_usd, completed, edge = con.execute(
        "SELECT count(*), avg(is_test::INT), avg((currency <> 'USD')::INT), "
        "avg((status = 'completed')::INT), "
        "count(*) FILTER (strftime(created_at, '%H:%M') IN ('23:59', '00:00')) FROM raw.orders"
    ).fetchone()
    assert n > 1000
    assert 0 < test_share < 3 * cfg.test_order_rate
    assert 0.05 < non_usd < 0.3
    assert abs(completed - cfg.order_status_weights["completed"]) < 0.02
    assert edge > 0  # some orders within a minute of midnight
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM raw.orders").fetchall()}
    assert statuses == set(cfg.order_status_weights)
    refunds = con.execute(
        "SELECT count(*) FROM raw.refunds WHERE refunded_at >= ?", parameters=[CHECK_FROM]
    ).fetchone()[0]
    orders_3d = con.execute(
        "SELECT count(*) FROM raw.orders WHERE status = 'completed' AND created_at >= ?",
        parameters=[CHECK_FROM],
    ).fetchone()[0]
    assert 0.3 * cfg.refund_rate < refunds / orders_3d < 2 * cfg.refund_rate
    pay = con.execute(
        "SELECT bool_and(status = 'captured' AND processor_fee > 0 "
        "OR status = 'failed' AND processor_fee = 0), "
        "count(*) FILTER (status = 'failed') FROM raw.payments"
    ).fetchone()
    assert pay[0] and pay[1] > 0


def test_churn_rate_and_closures_after_signup(con: duckdb.DuckDBPyConnection) -> None:
    w = make_world(scale_factor=SF, seed=SEED, launch_date=LAUNCH)
    for d in _days(START, END):
        k = w.pop.k(d)
        e = w.pop.existing(k)
        open_before = int(((e["close"] >= k) & (e["kind"] != 1)).sum())
        closed = con.execute(
            "SELECT count(*) FROM raw.account_closures WHERE closed_at::DATE = ?", parameters=[d]
        ).fetchone()[0]
        assert closed <= max(10, 5 * generator_settings().churn_rate_per_day * open_before)
    total = con.execute("SELECT count(*) FROM raw.account_closures").fetchone()[0]
    assert total > 0
    twice = con.execute(
        "SELECT count(*) FROM (SELECT user_id FROM raw.account_closures GROUP BY 1 HAVING count(*) > 1)"
    )
    assert twice.fetchone()[0] == 0


def test_volumes_are_smooth_and_weekly() -> None:
    """Day-over-day order and DAU volumes: within a few % of their centred 7-day mean (SF 1, late 2026)."""
    w = make_world(scale_factor=1.0, seed=SEED, launch_date=LAUNCH)
    ks = range(w.pop.k(date(2026, 9, 1)), w.pop.k(date(2026, 9, 22)))
    orders = np.array([len(w.orders(k)["order_id"]) for k in ks], dtype=float)
    dau = np.array([len(w.pop.active(k)[0]) for k in ks], dtype=float)
    for series in (orders, dau):
        centred = np.convolve(series, np.ones(7) / 7, mode="valid")
        dev = np.abs(series[3:-3] / centred - 1)
        assert dev.max() < 0.12, dev
    assert orders.min() > 10_000  # SF 1 is ~20k orders a day by late 2026


def test_growth_reaches_about_100k_users_at_sf1_by_late_2026() -> None:
    w = make_world(scale_factor=1.0, seed=SEED, launch_date=LAUNCH)
    n = w.pop.cum_signups(w.pop.k(date(2026, 11, 1)))
    assert 80_000 < n < 120_000
    first_week = w.pop.cum_signups(6) / 7
    assert 80 < first_week < 180


# ---- config ------------------------------------------------------------------------------------------
def _world_yaml_with(tmp_path: Path, **changes: object) -> Path:
    from metrics_core.paths import config_dir

    data = yaml.safe_load((config_dir() / "world.yaml").read_text())
    data["generator"].update(changes)
    p = tmp_path / "world.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="generator.refund_rate"):
        load_generator_settings(_world_yaml_with(tmp_path, refund_rate=1.5))
    with pytest.raises(ConfigError, match="max_events_per_ip_minute"):
        load_generator_settings(_world_yaml_with(tmp_path, flood_burst_events=[50, 100]))
    with pytest.raises(ConfigError, match="accepted_event_types"):
        load_generator_settings(_world_yaml_with(tmp_path, event_type_weights={"user_login": 1.0}))
    with pytest.raises(ConfigError, match="channels weights sum"):
        load_generator_settings(
            _world_yaml_with(
                tmp_path, channels={"a": {"weight": 0.5, "cpa_usd": 1}, "b": {"weight": 0.2, "cpa_usd": 1}}
            )
        )
    p = tmp_path / "experiments.yaml"
    p.write_text("experiments:\n  - id: x\n    start_date: '2025-01-01'\n    variants: {a: 0.5, b: 0.6}\n")
    with pytest.raises(ConfigError, match="variants"):
        load_experiments(p)


def test_rates_come_from_config(tmp_path: Path) -> None:
    """Turning a base rate up in config turns it up in the data (nothing is hard-coded)."""
    c = duckdb.connect()
    d = date(2025, 3, 10)
    cfg = generator_settings().model_copy(update={"duplicate_event_rate": 0.2, "test_order_rate": 0.2})
    _write(c, "app_events", d, d + timedelta(days=1), settings=cfg)
    _write(c, "orders", d, d + timedelta(days=1), settings=cfg)
    n, distinct = c.execute("SELECT count(*), count(DISTINCT event_id) FROM raw.app_events").fetchone()
    assert 0.12 < 1 - distinct / n < 0.2
    assert 0.1 < c.execute("SELECT avg(is_test::INT) FROM raw.orders").fetchone()[0] < 0.3


def test_user_agents_agree_with_the_bot_rules() -> None:
    rx = re.compile(metric_rules().bot_regex, re.IGNORECASE)
    assert not any(rx.search(ua) for ua in (*NORMAL_UAS, FLOOD_UA))
    assert all(rx.search(ua) for ua in BOT_UAS)
    narrowed = metric_rules().model_copy(update={"bot_user_agent_patterns": ["bot"]})
    with pytest.raises(ConfigError, match="miss the generator's bot user agents"):
        World(SEED, SF, LAUNCH, generator_settings(), narrowed, load_experiments())


def test_churn_is_about_the_configured_daily_rate_of_open_accounts() -> None:
    w = make_world(scale_factor=1.0, seed=SEED, launch_date=LAUNCH)
    closed = opened = 0
    for k in range(300, 360):
        e = w.pop.existing(k)
        live = e["kind"] != 1
        opened += int((live & (e["close"] >= k)).sum())
        closed += int((live & (e["close"] == k)).sum())
    assert closed / opened == pytest.approx(generator_settings().churn_rate_per_day, rel=0.1)


def test_some_events_and_orders_fall_next_to_midnight(con: duckdb.DuckDBPyConnection) -> None:
    for table, col in (("app_events", "event_time"), ("orders", "created_at")):
        first, last = con.execute(
            f"SELECT count(*) FILTER (strftime({col}, '%H:%M') = '00:00'), "
            f"count(*) FILTER (strftime({col}, '%H:%M') = '23:59') FROM raw.{table}"
        ).fetchone()
        assert first > 0 and last > 0, table


def test_launch_day_with_no_active_users_generates_every_source():
    """Regression: on launch day nobody is active yet; every source still generates (possibly 0 rows)."""
    import duckdb

    from metrics_assets.generator import ensure_raw_tables, write_partitions
    from metrics_core.sources import SOURCES

    con = duckdb.connect()
    ensure_raw_tables(con)
    launch = date(2025, 1, 1)
    for name in SOURCES:
        n = write_partitions(
            con, name, launch, date(2025, 1, 3), scale_factor=0.02, seed=1, launch_date=launch
        )
        assert n >= 0, name
