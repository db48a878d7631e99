"""Fault injection: apply a named fault to the raw layer (DuckDB) for one day, and revert it.

Why: every check must be shown to fail on the bad data it exists for, and the detection rates of
the statistical checks must be measured, not assumed. Each fault names the failure-mode id it
targets (checks/failure_modes.yaml).

Every injection is recorded in `faults.injections`. Before a data fault runs, the raw partitions
it can touch are copied to `faults.backup_<id>_<source>`; `revert` restores them (and runs the
inverse DDL of table-altering faults), newest first. Faults with stage "after_build" model a
failure that only exists once the day has been materialised (a late feed, a tampered aggregate,
a slow run): apply them after building the day.

Selection of rows is deterministic (hash of rowid and `seed`), so an injection is reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from checks.relations import relation
from metrics_assets.orchestration.run_log import DDL
from metrics_core.rules import metric_rules
from metrics_core.sources import SOURCES, Source

FAULT_SCHEMA = "faults"
BOT_UA = "Mozilla/5.0 (compatible; ScrapeBot/2.1; +https://example.invalid/bot)"

# failure mode hit first when a source's volume/schema/duplicates break (checks/failure_modes.yaml)
VOLUME_MODE = {
    "orders": "profit-transactions-missing",
    "payments": "profit-transactions-missing",
    "refunds": "profit-late-refunds",
    "order_costs": "profit-cost-coverage",
    "fx_rates": "profit-fx-misalignment",
    "users": "growth-extreme-numbers",
    "account_closures": "growth-late-churn",
    "marketing_spend": "growth-marketing-api-failure",
    "app_events": "engagement-ingestion-lag",
    "experiment_assignments": "experiment-broken-randomisation",
}
DUPLICATE_MODE = {
    **VOLUME_MODE,
    "orders": "profit-duplicate-orders",
    "users": "growth-duplicate-users",
    "app_events": "engagement-duplicate-events",
    "experiment_assignments": "experiment-leakage",
}
SCHEMA_MODE = {name: "profit-source-schema-change" for name in SOURCES} | {
    "users": "growth-schema-drift",
    "account_closures": "growth-schema-drift",
    "marketing_spend": "growth-schema-drift",
    "experiment_assignments": "growth-schema-drift",
    "app_events": "engagement-event-schema-change",
}
# same user id twice: a key violation; a new user id for an existing person: deduplicated, but rising
DUPLICATE_SIGNUP_MODE = {
    "same_user_id": "growth-duplicate-users",
    "new_user_id": "growth-duplicate-signup-rate",
}
# failure mode of NULLs in a critical field (config/checks.yaml critical_fields), else the contract's
NULL_MODE = SCHEMA_MODE | {
    "app_events": "engagement-null-user-ids",
    **dict.fromkeys(("orders", "payments", "refunds", "order_costs"), "profit-critical-field-nulls"),
}


@dataclass(frozen=True)
class Fault:
    name: str
    failure_mode: Callable[[dict[str, Any]], str]
    description: str
    defaults: dict[str, Any]
    apply: Callable[[Any, date, dict[str, Any]], tuple[int, str, list[str]]]  # rows, detail, revert SQL
    footprint: Callable[[date, dict[str, Any]], list[tuple[str, date, date]]] = lambda d, p: []
    stage: str = "raw"  # "raw" | "after_build"

    def mode(self, params: dict[str, Any] | None = None) -> str:
        return self.failure_mode({**self.defaults, **(params or {})})


@dataclass(frozen=True)
class FaultResult:
    injection_id: int
    fault: str
    failure_mode: str
    day: date
    params: dict[str, Any]
    rows_affected: int
    detail: str
    backups: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ SQL helpers


def _src(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown raw source {name!r}; known sources are {sorted(SOURCES)}")
    return SOURCES[name]


def _lit(d: date | datetime) -> str:
    return f"TIMESTAMP '{d.isoformat(sep=' ') if isinstance(d, datetime) else d.isoformat()}'"


def _day(src: Source, start: date, days: int = 1) -> str:
    c = src.partition_column
    return f"{c} >= {_lit(start)} AND {c} < {_lit(start + timedelta(days=days))}"


def _one(con: Any, sql: str) -> Any:
    return con.execute(sql).fetchone()[0]


def _count(con: Any, src: Source, where: str) -> int:
    return int(_one(con, f"SELECT count(*) FROM {src.table} WHERE {where}"))


def _pick(con: Any, src: Source, where: str, share: float, seed: int, at_least_one: bool = True) -> str:
    """SQL subquery selecting exactly round(share * n) rowids of the matching rows (deterministic)."""
    if not 0 <= share <= 10:
        raise ValueError(f"share must be within [0, 10], got {share}")
    n = _count(con, src, where)
    k = round(share * n)
    if at_least_one and share > 0 and n:
        k = max(k, 1)
    return f"SELECT rowid FROM {src.table} WHERE {where} ORDER BY hash(rowid, {int(seed)}) LIMIT {k}"


def _copy(con: Any, src: Source, rowids_sql: str, overrides: dict[str, str], times: int = 1) -> int:
    """Insert copies of the selected rows with some columns replaced by SQL expressions.

    Expressions may use `_n` (1.. within the copy batch), `_k` (copy number) and the max ids `_mx`.
    """
    cols = [c.name for c in src.columns]
    exprs = ", ".join(overrides.get(c, c) + f" AS {c}" for c in cols)
    total = 0
    for k in range(1, times + 1):
        before = _count(con, src, "TRUE")
        con.execute(f"""
            INSERT INTO {src.table} ({", ".join(cols)})
            SELECT {exprs} FROM (
                SELECT t.*, row_number() OVER (ORDER BY t.rowid) AS _n, {k} AS _k
                FROM {src.table} t WHERE t.rowid IN ({rowids_sql})
            )""")
        total += _count(con, src, "TRUE") - before
    return total


def _new_id(src: Source, col: str) -> str:
    return f"((SELECT max({col}) FROM {src.table}) + _n)"


def _affected(con: Any) -> int:
    row = con.fetchone()
    return int(row[0]) if row else 0


def _exec(con: Any, sql: str) -> int:
    con.execute(sql)
    return _affected(con)


# ----------------------------------------------------------------------------------- the faults


def _volume_drop(con, day, p):
    src = _src(p["table"])
    n = _exec(
        con,
        f"DELETE FROM {src.table} WHERE rowid IN ({_pick(con, src, _day(src, day), p['share'], p['seed'])})",
    )
    return n, f"deleted {n} of the day's rows ({p['share']:.0%}) from {src.table}", []


def _zero_rows(con, day, p):
    src = _src(p["table"])
    n = _exec(con, f"DELETE FROM {src.table} WHERE {_day(src, day)}")
    return n, f"deleted all {n} rows of {day} from {src.table}", []


def _duplicate_load(con, day, p):
    src = _src(p["table"])
    n = _copy(con, src, f"SELECT rowid FROM {src.table} WHERE {_day(src, day)}", {}, times=p["times"] - 1)
    return n, f"loaded {day} of {src.table} {p['times']}x ({n} extra identical rows)", []


def _duplicated_orders(con, day, p):
    src = _src("orders")
    n = _copy(con, src, _pick(con, src, _day(src, day), p["share"], p["seed"]), {})
    return n, f"{n} orders of {day} landed twice (same order_id)", []


def _missing_costs_region(con, day, p):
    orders, costs = _src("orders"), _src("order_costs")
    region = p["region"] or _one(
        con,
        f"SELECT region FROM {orders.table} WHERE {_day(orders, day)} "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    if region is None:
        raise ValueError(f"no orders on {day}: nothing to take costs away from")
    n = _exec(
        con,
        f"DELETE FROM {costs.table} WHERE region = '{region}' AND order_id IN "
        f"(SELECT order_id FROM {orders.table} WHERE {_day(orders, day)})",
    )
    p["region"] = region
    return n, f"deleted {n} cost lines of {day}'s orders in region {region}", []


def _late_refunds(con, day, p):
    orders, refunds = _src("orders"), _src("refunds")
    pick = _pick(con, orders, f"{_day(orders, day)} AND status = 'completed'", p["share"], p["seed"])
    con.execute(f"""
        INSERT INTO {refunds.table} (refund_id, order_id, refunded_at, amount, currency)
        SELECT (SELECT coalesce(max(refund_id), 0) FROM {refunds.table})
                 + row_number() OVER (ORDER BY o.rowid),
               o.order_id, o.created_at + INTERVAL {int(p["delay_days"])} DAY,
               greatest(o.gross_amount - o.discount, 0), o.currency
        FROM {orders.table} o WHERE o.rowid IN ({pick})""")
    n = _affected(con)
    return (
        n,
        (
            f"{n} refunds for orders of {day} landed {p['delay_days']} days later "
            f"(partition {day + timedelta(days=p['delay_days'])})"
        ),
        [],
    )


def _renamed_column(con, day, p):
    src = _src(p["table"])
    col = src.column(p["column"]).name
    new = p["new_name"] or f"{col}_v2"
    con.execute(f"ALTER TABLE {src.table} RENAME COLUMN {col} TO {new}")
    return 0, f"{src.table}.{col} renamed to {new}", [f"ALTER TABLE {src.table} RENAME COLUMN {new} TO {col}"]


def _type_change(con, day, p):
    src = _src(p["table"])
    col = src.column(p["column"])
    con.execute(f"ALTER TABLE {src.table} ALTER COLUMN {col.name} TYPE {p['new_type']}")
    return (
        0,
        f"{src.table}.{col.name} type changed {col.type} -> {p['new_type']}",
        [f"ALTER TABLE {src.table} ALTER COLUMN {col.name} TYPE {col.type}"],
    )


def _int_to_decimal(con, day, p):
    col = _src(p["table"]).column(p["column"])
    if col.type not in ("BIGINT", "INTEGER"):
        raise ValueError(f"{p['table']}.{p['column']} is {col.type}, not an integer column")
    return _type_change(con, day, p)


def _new_column(con, day, p):
    src = _src(p["table"])
    con.execute(f"ALTER TABLE {src.table} ADD COLUMN {p['column']} {p['type']}")
    return (
        0,
        f"{src.table} gained column {p['column']} {p['type']}",
        [f"ALTER TABLE {src.table} DROP COLUMN {p['column']}"],
    )


def _null_keys(con, day, p):
    src = _src(p["table"])
    col = src.column(p["column"]).name
    n = _exec(
        con,
        f"UPDATE {src.table} SET {col} = NULL WHERE rowid IN "
        f"({_pick(con, src, _day(src, day), p['share'], p['seed'])})",
    )
    return n, f"{n} rows of {day} in {src.table} got NULL {col}", []


def _duplicate_signups(con, day, p):
    src = _src("users")
    channels = sorted(_src_channels(con))
    other = (
        "CASE channel "
        + " ".join(
            f"WHEN '{a}' THEN '{b}'" for a, b in zip(channels, channels[1:] + channels[:1], strict=True)
        )
        + " END"
    )
    over = {"channel": other, "signed_up_at": "signed_up_at + INTERVAL 7 MINUTE"}
    if p["mode"] == "new_user_id":
        over["user_id"] = _new_id(src, "user_id")
    elif p["mode"] != "same_user_id":
        raise ValueError("duplicate_signups mode must be 'same_user_id' or 'new_user_id'")
    n = _copy(con, src, _pick(con, src, _day(src, day), p["share"], p["seed"]), over)
    return n, f"{n} signups of {day} recorded again through another channel ({p['mode']})", []


def _null_field(con, day, p):
    """A share of the day's rows (those with a value) arrive with NULL in a critical field."""
    src = _src(p["table"])
    col = src.column(p["column"]).name
    where = f"{_day(src, day)} AND {col} IS NOT NULL"
    pick = _pick(con, src, where, p["share"], p["seed"])
    n = _exec(con, f"UPDATE {src.table} SET {col} = NULL WHERE rowid IN ({pick})")
    return n, f"{n} rows of {day} in {src.table} arrived with NULL {col} ({p['share']:.0%} of the day)", []


def _src_channels(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT channel FROM raw.users WHERE channel IS NOT NULL "
            "UNION SELECT DISTINCT channel FROM raw.marketing_spend"
        ).fetchall()
    ]


def _marketing_api_gap(con, day, p):
    src = _src("marketing_spend")
    extra = f" AND channel = '{p['channel']}'" if p["channel"] else ""
    n = _exec(con, f"DELETE FROM {src.table} WHERE {_day(src, day)}{extra}")
    return n, f"marketing API returned nothing for {day} ({n} channel rows missing)", []


def _late_churn(con, day, p):
    src = _src("account_closures")
    start = day - timedelta(days=p["days"] - 1)
    n = _exec(con, f"DELETE FROM {src.table} WHERE {_day(src, start, p['days'])}")
    return n, f"churn log stalled: {n} closures of {start}..{day} not delivered yet", []


def _ingestion_stall(con, day, p):
    src = _src("app_events")
    cutoff = datetime.combine(day, datetime.min.time()) + timedelta(hours=p["stall_hour"])
    n = _exec(con, f"DELETE FROM {src.table} WHERE {_day(src, day)} AND received_at >= {_lit(cutoff)}")
    return n, f"stream consumer stuck at {cutoff:%Y-%m-%d %H:%M}: {n} events of {day} not received", []


def _duplicate_events(con, day, p):
    src = _src("app_events")
    n = _copy(
        con,
        src,
        _pick(con, src, _day(src, day), p["share"], p["seed"]),
        {"received_at": "received_at + INTERVAL 30 SECOND"},
    )
    return n, f"{n} events of {day} received twice (same event_id)", []


def _renamed_event_type(con, day, p):
    src = _src("app_events")
    n = _exec(
        con,
        f"UPDATE {src.table} SET event_type = '{p['new']}' WHERE {_day(src, day)} "
        f"AND event_type = '{p['old']}'",
    )
    return n, f"{n} events of {day}: event type {p['old']!r} now sent as {p['new']!r}", []


def _bot_spike(con, day, p):
    src = _src("app_events")
    bots = int(p["bot_users"])
    over = {
        "event_id": f"'bot' || substr(md5(event_id || '{p['seed']}' || _n::VARCHAR), 1, 14)",
        "user_id": f"9000000000 + (_n % {bots})",
        "device_id": f"'dbot' || (_n % {bots})::VARCHAR",
        "session_hint": "NULL",
        "ip": f"'203.0.113.' || (_n % {max(1, bots // 10)})::VARCHAR",
        "user_agent": f"'{p['user_agent']}'",
    }
    n = _copy(con, src, _pick(con, src, _day(src, day), p["share"], p["seed"]), over)
    return n, f"bot traffic: +{n} events on {day} ({p['share']:.0%}) from {bots} fake users", []


def _bot_signups(con, day, p):
    src = _src("users")
    over = {
        "user_id": _new_id(src, "user_id"),
        "user_agent": f"'{BOT_UA}'",
        "email_hash": f"md5('bot' || user_id::VARCHAR || '{p['seed']}')",
        "device_id": "'dbot' || _n::VARCHAR",
        "signup_ip": "'203.0.113.' || (_n % 16)::VARCHAR",
    }
    n = _copy(con, src, _pick(con, src, _day(src, day), p["share"], p["seed"]), over)
    return n, f"{n} bot signups on {day}", []


def _growth_spike(con, day, p):
    src = _src("users")
    over = {
        "user_id": _new_id(src, "user_id"),
        "email_hash": f"md5('spike' || user_id::VARCHAR || '{p['seed']}' || _k::VARCHAR)",
        "signed_up_at": "signed_up_at + INTERVAL 3 MINUTE",
    }
    n = _copy(con, src, _pick(con, src, _day(src, day), p["share"], p["seed"]), over, times=int(p["times"]))
    return n, f"{n} extra (non-bot) signups on {day}: new users +{p['share'] * p['times']:.0%}", []


def _variants(con, experiment: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT variant FROM raw.experiment_assignments "
            f"WHERE experiment_id = '{experiment}' ORDER BY 1"
        ).fetchall()
    ]


def _other_variant_sql(con) -> str:
    """CASE expression mapping each (experiment, variant) to another variant of the same experiment."""
    rows = con.execute(
        "SELECT experiment_id, list(DISTINCT variant ORDER BY variant) "
        "FROM raw.experiment_assignments GROUP BY 1"
    ).fetchall()
    whens = [
        f"WHEN experiment_id = '{e}' AND variant = '{a}' THEN '{b}'"
        for e, vs in rows
        if len(vs) > 1
        for a, b in zip(vs, vs[1:] + vs[:1], strict=True)
    ]
    return "CASE " + " ".join(whens) + " ELSE variant END" if whens else "variant"


def _variant_leakage(con, day, p):
    src = _src("experiment_assignments")
    n = _copy(
        con,
        src,
        _pick(con, src, _day(src, day), p["share"], p["seed"]),
        {"variant": _other_variant_sql(con), "assigned_at": "assigned_at + INTERVAL 1 HOUR"},
    )
    return n, f"{n} users of {day} also assigned to a second variant of the same experiment", []


def _broken_randomisation(con, day, p):
    src = _src("experiment_assignments")
    start = day - timedelta(days=p["days"] - 1)
    exp = p["experiment"] or _one(
        con,
        f"SELECT experiment_id FROM {src.table} WHERE {_day(src, start, p['days'])} "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    if exp is None:
        raise ValueError(f"no experiment assignments in {start}..{day}")
    variants = _variants(con, exp)
    to = p["to_variant"] or variants[-1]
    where = f"{_day(src, start, p['days'])} AND experiment_id = '{exp}' AND variant <> '{to}'"
    n = _exec(
        con,
        f"UPDATE {src.table} SET variant = '{to}' WHERE rowid IN "
        f"({_pick(con, src, where, p['share'], p['seed'])})",
    )
    p["experiment"], p["to_variant"] = exp, to
    return n, f"{n} assignments of {exp} in {start}..{day} moved to {to!r} (ratio skewed)", []


def _person_variant_conflict(con, day, p):
    """A person's second user id (multi-channel signup) lands in the other variant."""
    users, asg = _src("users"), _src("experiment_assignments")
    pick = _pick(con, asg, _day(asg, day), p["share"], p["seed"])
    base = int(_one(con, f"SELECT coalesce(max(user_id), 0) FROM {users.table}"))
    con.execute(
        f"CREATE TEMP TABLE _pvc AS SELECT a.*, {base} + row_number() OVER (ORDER BY a.rowid) AS new_id "
        f"FROM {asg.table} a WHERE a.rowid IN ({pick})"
    )
    cols = [c.name for c in users.columns]
    exprs = ", ".join(
        {"user_id": "c.new_id", "signed_up_at": "u.signed_up_at + INTERVAL 9 MINUTE"}.get(c, f"u.{c}")
        for c in cols
    )
    con.execute(
        f"INSERT INTO {users.table} ({', '.join(cols)}) SELECT {exprs} FROM _pvc c "
        f"JOIN (SELECT * FROM {users.table} QUALIFY row_number() OVER (PARTITION BY user_id) = 1) u "
        "ON u.user_id = c.user_id"
    )
    other = _other_variant_sql(con)
    con.execute(
        f"INSERT INTO {asg.table} (user_id, experiment_id, variant, assigned_at) "
        f"SELECT new_id, experiment_id, {other}, assigned_at + INTERVAL 10 MINUTE FROM _pvc"
    )
    n = int(_one(con, "SELECT count(*) FROM _pvc"))
    con.execute("DROP TABLE _pvc")
    return n, f"{n} persons of {day} got a second user id assigned to another variant", []


def _fx_gap(con, day, p):
    src = _src("fx_rates")
    cond = f"currency = '{p['currency']}'" if p["currency"] else "currency <> 'USD'"
    n = _exec(con, f"DELETE FROM {src.table} WHERE {_day(src, day)} AND {cond}")
    return n, f"{n} FX rates of {day} missing ({p['currency'] or 'all non-USD currencies'})", []


def _fx_rate_jump(con, day, p):
    """One currency's rate of the day off by `factor` (a decimal slip: 10 or 0.1)."""
    src = _src("fx_rates")
    n = _exec(
        con,
        f"UPDATE {src.table} SET usd_per_unit = usd_per_unit * {float(p['factor'])} "
        f"WHERE {_day(src, day)} AND currency = '{p['currency']}'",
    )
    if not n:
        raise ValueError(f"raw.fx_rates has no {p['currency']} rate on {day}")
    return n, f"{p['currency']} rate of {day} multiplied by {p['factor']:g}", []


def _cost_table_mismatch(con, day, p):
    """The day's orders costed with another version of the cost table: their `cost_type` lines
    scaled by `factor`."""
    orders, costs = _src("orders"), _src("order_costs")
    n = _exec(
        con,
        f"UPDATE {costs.table} SET amount = round(amount * {float(p['factor'])}, 2) "
        f"WHERE cost_type = '{p['cost_type']}' AND order_id IN "
        f"(SELECT order_id FROM {orders.table} WHERE {_day(orders, day)})",
    )
    return n, f"{n} {p['cost_type']} lines of {day}'s orders costed x{p['factor']:g} (another cost table)", []


def _test_orders_leak(con, day, p):
    """Internal orders arrive twice: flagged (is_test) and, from a second feed, unflagged."""
    src = _src("orders")
    pick = _pick(con, src, _day(src, day), p["share"], p["seed"])
    base = int(_one(con, f"SELECT max(order_id) FROM {src.table}"))
    n = 0
    for flag in ("TRUE", "FALSE"):
        n += _copy(con, src, pick, {"order_id": f"{base} + _n", "is_test": flag, "region": "region"})
    return n // 2, f"{n // 2} internal test orders on {day}, landed flagged and unflagged", []


def _timezone_shift(con, day, p):
    src = _src("orders")
    minutes = round(p["hours"] * 60)
    n = _exec(
        con,
        f"UPDATE {src.table} SET created_at = created_at + INTERVAL {minutes} MINUTE WHERE {_day(src, day)}",
    )
    return n, f"created_at of {n} orders of {day} shifted by {p['hours']:+g} h (local time sent as UTC)", []


def _profit_jump(con, day, p):
    src = _src("orders")
    f = float(p["factor"])
    n = _exec(
        con,
        f"UPDATE {src.table} SET gross_amount = round(gross_amount * {f}, 2), "
        f"discount = round(discount * {f}, 2) WHERE {_day(src, day)}",
    )
    return n, f"amounts of {n} orders of {day} multiplied by {f:g}", []


def _dau_drop(con, day, p):
    src = _src("app_events")
    where = f"{_day(src, day)} AND user_id IS NOT NULL"
    n_users = int(_one(con, f"SELECT count(DISTINCT user_id) FROM {src.table} WHERE {where}"))
    k = round(p["share"] * n_users)
    n = _exec(
        con,
        f"DELETE FROM {src.table} WHERE {where} AND user_id IN (SELECT user_id FROM "
        f"(SELECT DISTINCT user_id FROM {src.table} WHERE {where}) ORDER BY hash(user_id, {p['seed']}) "
        f"LIMIT {k})",
    )
    return n, f"all {n} events of {k} of {n_users} users ({p['share']:.0%}) on {day} lost", []


def _session_split(con, day, p):
    """Events of the chosen users re-spaced beyond the session gap: every event becomes a session."""
    src = _src("app_events")
    gap = metric_rules().session_gap_minutes + 1
    where = f"{_day(src, day)} AND user_id IS NOT NULL"
    users = (
        f"SELECT user_id FROM (SELECT DISTINCT user_id FROM {src.table} WHERE {where}) "
        f"ORDER BY hash(user_id, {p['seed']}) LIMIT (SELECT round({p['share']} * count(DISTINCT user_id)) "
        f"FROM {src.table} WHERE {where})"
    )
    end = _lit(datetime.combine(day + timedelta(days=1), datetime.min.time()) - timedelta(seconds=1))
    n = _exec(
        con,
        f"""
        UPDATE {src.table} t
        SET event_time = s.new_time, received_at = s.new_time + (t.received_at - t.event_time)
        FROM (SELECT rowid AS rid, least(date_trunc('day', event_time)
                     + to_minutes(({gap} * (row_number() OVER (PARTITION BY user_id ORDER BY event_time)
                                            - 1))::BIGINT),
                     {end}) AS new_time
              FROM {src.table} WHERE {where} AND user_id IN ({users})) s
        WHERE t.rowid = s.rid""",
    )
    return n, f"{n} events of {day} re-spaced {gap} min apart (sessions split)", []


def _nonsense_values(con, day, p):
    src = _src("app_events")
    n = _exec(
        con,
        f"UPDATE {src.table} SET user_id = NULL WHERE rowid IN "
        f"({_pick(con, src, _day(src, day) + ' AND user_id IS NOT NULL', p['share'], p['seed'])})",
    )
    return n, f"user_id dropped from {n} events of {day} (DAU collapses)", []


# --- after_build faults: they need the day to have been materialised first


def _feed_late(con, day, p):
    src = _src("orders")
    top = int(_one(con, f"SELECT max(order_id) FROM {src.table}"))
    where = f"{_day(src, day)} AND status = 'completed' AND NOT is_test AND order_id <= {top}"
    whole, frac = divmod(float(p["share"]), 1.0)
    n = _copy(
        con,
        src,
        f"SELECT rowid FROM {src.table} WHERE {where}",
        {"order_id": _new_id(src, "order_id")},
        times=int(whole),
    )
    if frac:
        n += _copy(con, src, _pick(con, src, where, frac, p["seed"]), {"order_id": _new_id(src, "order_id")})
    return n, f"{n} completed orders of {day} landed after the experiment feed was built", []


def _unit_agg_mismatch(con, day, p):

    rel = relation("agg_profit_daily")
    delta = float(p["delta_usd"])
    n = _exec(con, f"UPDATE {rel} SET profit_usd = profit_usd + {delta} WHERE order_date = DATE '{day}'")
    if not n:
        raise ValueError(f"{rel} has no row for {day}; build the day before injecting unit_agg_mismatch")
    return (
        n,
        f"{rel}.profit_usd of {day} off by {delta:+.2f} USD",
        [f"UPDATE {rel} SET profit_usd = profit_usd - {delta} WHERE order_date = DATE '{day}'"],
    )


def _slow_run(con, day, p):
    """Simulated symptom: a run of agg_profit_daily for the day recorded as taking `seconds`."""

    for stmt in DDL.split(";"):
        if stmt.strip():
            con.execute(stmt)
    run_id = f"fault-slow-run-{day.isoformat()}"
    con.execute(
        "INSERT INTO ops.asset_runs VALUES (?, 'agg_profit_daily', ?, ?, "
        "current_timestamp - to_seconds(?::BIGINT), current_timestamp, 0, '0')",
        [run_id, day, day + timedelta(days=1), int(p["seconds"])],
    )
    return (
        1,
        f"recorded a {p['seconds']} s run of agg_profit_daily for {day} ({run_id})",
        [f"DELETE FROM ops.asset_runs WHERE run_id = '{run_id}'"],
    )


# ------------------------------------------------------------------------------------ registry


def _fixed(mode: str) -> Callable[[dict[str, Any]], str]:
    return lambda p: mode


def _days(source: str, before: int = 0, after: int = 1) -> Callable[[date, dict[str, Any]], list]:
    return lambda d, p: [(source, d - timedelta(days=before), d + timedelta(days=after))]


def _table_days(d: date, p: dict[str, Any]) -> list[tuple[str, date, date]]:
    return [(p["table"], d, d + timedelta(days=1))]


_F = Fault
FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        _F(
            "volume_drop",
            lambda p: VOLUME_MODE[p["table"]],
            "delete a share of the day's rows of a raw table",
            {"table": "orders", "share": 0.30, "seed": 1},
            _volume_drop,
            _table_days,
        ),
        _F(
            "zero_rows",
            lambda p: VOLUME_MODE[p["table"]],
            "the day's partition of a raw table is empty",
            {"table": "orders"},
            _zero_rows,
            _table_days,
        ),
        _F(
            "duplicate_load",
            lambda p: DUPLICATE_MODE[p["table"]],
            "the day's partition is loaded `times` times",
            {"table": "orders", "times": 2},
            _duplicate_load,
            _table_days,
        ),
        _F(
            "duplicated_orders",
            _fixed("profit-duplicate-orders"),
            "a share of the day's orders land twice",
            {"share": 0.05, "seed": 1},
            _duplicated_orders,
            _days("orders"),
        ),
        _F(
            "missing_costs_region",
            _fixed("profit-cost-coverage"),
            "cost lines of the day's orders missing for one region (default: the busiest)",
            {"region": None},
            _missing_costs_region,
            _days("order_costs", after=2),
        ),
        _F(
            "late_refunds",
            _fixed("profit-late-refunds"),
            "refunds for a share of the day's completed orders land `delay_days` later (beyond the lookback)",
            {"share": 0.10, "delay_days": 9, "seed": 1},
            _late_refunds,
            lambda d, p: [
                ("refunds", d + timedelta(days=p["delay_days"]), d + timedelta(days=p["delay_days"] + 1))
            ],
        ),
        _F(
            "renamed_column",
            lambda p: SCHEMA_MODE[p["table"]],
            "a source column is renamed (whole table)",
            {"table": "orders", "column": "gross_amount", "new_name": None},
            _renamed_column,
        ),
        _F(
            "api_schema_drift",
            lambda p: SCHEMA_MODE[p["table"]],
            "the marketing API renames a field (whole table)",
            {"table": "marketing_spend", "column": "spend_usd", "new_name": "spend"},
            _renamed_column,
        ),
        _F(
            "int_to_decimal",
            lambda p: SCHEMA_MODE[p["table"]],
            "an integer column turns DECIMAL (whole table)",
            {"table": "orders", "column": "user_id", "new_type": "DECIMAL(18,2)"},
            _int_to_decimal,
        ),
        _F(
            "type_change",
            lambda p: SCHEMA_MODE[p["table"]],
            "a column changes type (whole table)",
            {"table": "orders", "column": "gross_amount", "new_type": "DOUBLE"},
            _type_change,
        ),
        _F(
            "new_column",
            lambda p: SCHEMA_MODE[p["table"]],
            "a source gains an undeclared column",
            {"table": "orders", "column": "promo_code", "type": "VARCHAR"},
            _new_column,
        ),
        _F(
            "null_keys",
            lambda p: SCHEMA_MODE[p["table"]],
            "NULLs in a key column for a share of the day's rows",
            {"table": "orders", "column": "order_id", "share": 0.01, "seed": 1},
            _null_keys,
            _table_days,
        ),
        _F(
            "duplicate_signups",
            lambda p: DUPLICATE_SIGNUP_MODE[p["mode"]],
            "a share of the day's signups recorded again through another channel",
            {"share": 0.10, "mode": "same_user_id", "seed": 1},
            _duplicate_signups,
            _days("users"),
        ),
        _F(
            "repeat_signups",
            _fixed("growth-duplicate-signup-rate"),
            "a share of the day's people sign up again: new user id, same email hash, another channel",
            {"share": 0.5, "mode": "new_user_id", "seed": 1},
            _duplicate_signups,
            _days("users"),
        ),
        _F(
            "null_user_ids",
            lambda p: NULL_MODE[p["table"]],
            "a share of the day's rows arrive with a NULL user id (default: app events)",
            {"table": "app_events", "column": "user_id", "share": 0.15, "seed": 1},
            _null_field,
            _table_days,
        ),
        _F(
            "null_amounts",
            lambda p: NULL_MODE[p["table"]],
            "a share of the day's rows arrive with a NULL amount (default: order gross amounts)",
            {"table": "orders", "column": "gross_amount", "share": 0.02, "seed": 1},
            _null_field,
            _table_days,
        ),
        _F(
            "fx_rate_jump",
            _fixed("profit-reference-data-jump"),
            "one currency's FX rate of the day off by `factor` (an order of magnitude)",
            {"currency": "EUR", "factor": 10.0},
            _fx_rate_jump,
            _days("fx_rates"),
        ),
        _F(
            "cost_table_mismatch",
            _fixed("profit-reference-data-jump"),
            "the day's orders costed with another cost-table version: `cost_type` lines x `factor`",
            {"cost_type": "cogs", "factor": 1.25},
            _cost_table_mismatch,
            _days("order_costs", after=2),
        ),
        _F(
            "marketing_api_gap",
            _fixed("growth-marketing-api-failure"),
            "no marketing spend rows for the day",
            {"channel": None},
            _marketing_api_gap,
            _days("marketing_spend"),
        ),
        _F(
            "late_churn",
            _fixed("growth-late-churn"),
            "closures of the last `days` days up to the day not delivered",
            {"days": 4},
            _late_churn,
            lambda d, p: [("account_closures", d - timedelta(days=p["days"] - 1), d + timedelta(days=1))],
        ),
        _F(
            "ingestion_stall",
            _fixed("engagement-ingestion-lag"),
            "events received after `stall_hour` UTC are missing",
            {"stall_hour": 12.0},
            _ingestion_stall,
            _days("app_events"),
        ),
        _F(
            "duplicate_events",
            _fixed("engagement-duplicate-events"),
            "a share of the day's events received twice",
            {"share": 0.08, "seed": 1},
            _duplicate_events,
            _days("app_events"),
        ),
        _F(
            "renamed_event_type",
            _fixed("engagement-event-schema-change"),
            "an event type is sent under a new name",
            {"old": "login", "new": "user_login"},
            _renamed_event_type,
            _days("app_events"),
        ),
        _F(
            "bot_spike",
            _fixed("engagement-bot-traffic"),
            "bot events added: +share of the day's events",
            {"share": 0.30, "bot_users": 200, "user_agent": BOT_UA, "seed": 1},
            _bot_spike,
            _days("app_events"),
        ),
        _F(
            "bot_signups",
            _fixed("growth-bot-signups"),
            "bot signups added: +share of the day's signups",
            {"share": 0.50, "seed": 1},
            _bot_signups,
            _days("users"),
        ),
        _F(
            "growth_spike",
            _fixed("growth-extreme-numbers"),
            "extra genuine-looking signups: +share x times of new users (times > 1: a replayed batch)",
            {"share": 0.60, "times": 1, "seed": 1},
            _growth_spike,
            _days("users"),
        ),
        _F(
            "variant_leakage",
            _fixed("experiment-leakage"),
            "a share of the day's users also get another variant",
            {"share": 0.20, "seed": 1},
            _variant_leakage,
            _days("experiment_assignments"),
        ),
        _F(
            "broken_randomisation",
            _fixed("experiment-broken-randomisation"),
            "a share of the last `days` days' assignments moved to one variant",
            {"share": 0.5, "days": 14, "experiment": None, "to_variant": None, "seed": 1},
            _broken_randomisation,
            lambda d, p: [
                ("experiment_assignments", d - timedelta(days=p["days"] - 1), d + timedelta(days=1))
            ],
        ),
        _F(
            "person_variant_conflict",
            _fixed("growth-experiment-exclusions"),
            "a person's second user id is assigned to another variant",
            {"share": 0.5, "seed": 1},
            _person_variant_conflict,
            lambda d, p: [
                ("users", d, d + timedelta(days=1)),
                ("experiment_assignments", d, d + timedelta(days=1)),
            ],
        ),
        _F(
            "fx_gap",
            _fixed("profit-fx-misalignment"),
            "FX rates of the day missing (default: every non-USD)",
            {"currency": None},
            _fx_gap,
            _days("fx_rates"),
        ),
        _F(
            "test_orders_leak",
            _fixed("profit-test-orders"),
            "internal test orders land flagged and unflagged",
            {"share": 0.02, "seed": 1},
            _test_orders_leak,
            _days("orders"),
        ),
        _F(
            "timezone_shift",
            _fixed("profit-timezone-shift"),
            "created_at of the day's orders shifted by `hours`",
            {"hours": 5.5},
            _timezone_shift,
            _days("orders", after=2),
        ),
        _F(
            "profit_jump",
            _fixed("profit-day-over-day-jump"),
            "order amounts of the day multiplied by `factor`",
            {"factor": 1.5},
            _profit_jump,
            _days("orders"),
        ),
        _F(
            "dau_drop",
            _fixed("engagement-dau-deviation"),
            "all events of a share of the day's users lost",
            {"share": 0.40, "seed": 1},
            _dau_drop,
            _days("app_events"),
        ),
        _F(
            "session_split",
            _fixed("engagement-sessionization-fault"),
            "a share of users' events re-spaced beyond the session gap",
            {"share": 0.5, "seed": 1},
            _session_split,
            _days("app_events"),
        ),
        _F(
            "nonsense_values",
            _fixed("engagement-nonsense-values"),
            "user_id dropped from the day's events",
            {"share": 1.0, "seed": 1},
            _nonsense_values,
            _days("app_events"),
        ),
        _F(
            "feed_late",
            _fixed("experiment-feed-late"),
            "most of the day's completed orders land after the experiment feed was built "
            "(apply after building)",
            {"share": 1.5, "seed": 1},
            _feed_late,
            _days("orders"),
            stage="after_build",
        ),
        _F(
            "unit_agg_mismatch",
            _fixed("profit-unit-agg-mismatch"),
            "agg_profit_daily disagrees with the unit-level sum (apply after building)",
            {"delta_usd": 100.0},
            _unit_agg_mismatch,
            stage="after_build",
        ),
        _F(
            "slow_run",
            _fixed("profit-long-runtime"),
            "simulated: a run of agg_profit_daily for the day recorded as slow (ops.asset_runs)",
            {"seconds": 3600},
            _slow_run,
            stage="after_build",
        ),
    )
}


def failure_modes_without_fault(catalogue: dict[str, Any]) -> list[str]:
    """Failure-mode ids of the catalogue that no fault targets (with default parameters)."""
    covered = {f.mode() for f in FAULTS.values()}
    return sorted(set(catalogue) - covered)


# ------------------------------------------------------------------------------------- inject


def _ensure_ops(con: Any) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {FAULT_SCHEMA}")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {FAULT_SCHEMA}.injections (
        injection_id BIGINT, fault VARCHAR, failure_mode VARCHAR, day DATE, params VARCHAR,
        rows_affected BIGINT, detail VARCHAR, backups VARCHAR, revert_sql VARCHAR,
        injected_at TIMESTAMP, reverted_at TIMESTAMP)""")


def coerce_params(fault: Fault, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults + params; unknown names refused; strings (from the CLI) cast to the default's type."""
    unknown = sorted(set(params) - set(fault.defaults))
    if unknown:
        raise ValueError(
            f"fault {fault.name!r} has no parameter(s) {unknown}; it takes {sorted(fault.defaults)}"
        )
    out = dict(fault.defaults)
    for k, v in params.items():
        d = fault.defaults[k]
        if isinstance(v, str) and d is not None and not isinstance(d, str):
            v = (v.lower() in ("1", "true", "yes")) if isinstance(d, bool) else type(d)(v)
        out[k] = v
    return out


def inject(con: Any, fault: str, day: date, **params: Any) -> FaultResult:
    """Apply fault `fault` to the raw layer for `day`, recording what is needed to revert it."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known faults are {sorted(FAULTS)}")
    f = FAULTS[fault]
    p = coerce_params(f, params)
    _ensure_ops(con)
    con.execute("BEGIN TRANSACTION")
    try:
        iid = int(_one(con, f"SELECT coalesce(max(injection_id), 0) + 1 FROM {FAULT_SCHEMA}.injections"))
        backups = []
        for source, start, end in f.footprint(day, p):
            src = _src(source)
            name = f"{FAULT_SCHEMA}.backup_{iid}_{source}"
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM {src.table} "
                f"WHERE {_day(src, start, (end - start).days)}"
            )
            backups.append(json.dumps([source, start.isoformat(), end.isoformat(), name]))
        rows, detail, revert_sql = f.apply(con, day, p)
        mode = f.failure_mode(p)
        con.execute(
            f"INSERT INTO {FAULT_SCHEMA}.injections "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, NULL)",
            [
                iid,
                fault,
                mode,
                day,
                json.dumps(p, default=str),
                rows,
                detail,
                json.dumps(backups),
                json.dumps(revert_sql),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FaultResult(iid, fault, mode, day, p, rows, detail, [json.loads(b)[3] for b in backups])


def revert(
    con: Any, fault: str | None = None, day: date | None = None, injection_id: int | None = None
) -> list[int]:
    """Undo injections (newest first): every un-reverted one matching the filters. Returns their ids."""
    _ensure_ops(con)
    conds = ["reverted_at IS NULL"]
    if fault:
        conds.append(f"fault = '{fault}'")
    if day:
        conds.append(f"day = DATE '{day.isoformat()}'")
    if injection_id is not None:
        conds.append(f"injection_id = {int(injection_id)}")
    rows = con.execute(
        f"SELECT injection_id, backups, revert_sql FROM {FAULT_SCHEMA}.injections "
        f"WHERE {' AND '.join(conds)} ORDER BY injection_id DESC"
    ).fetchall()
    done = []
    for iid, backups, revert_sql in rows:
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in reversed(json.loads(revert_sql)):
                con.execute(stmt)
            for b in json.loads(backups):
                source, start, end, name = json.loads(b)
                src = _src(source)
                s, e = date.fromisoformat(start), date.fromisoformat(end)
                con.execute(f"DELETE FROM {src.table} WHERE {_day(src, s, (e - s).days)}")
                con.execute(f"INSERT INTO {src.table} BY NAME SELECT * FROM {name}")
                con.execute(f"DROP TABLE {name}")
            con.execute(
                f"UPDATE {FAULT_SCHEMA}.injections SET reverted_at = current_timestamp "
                f"WHERE injection_id = {int(iid)}"
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        done.append(int(iid))
    return done
