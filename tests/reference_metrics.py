"""An independent pandas reference of the published metrics, written only from shared/spec/metrics.md.

It reads the raw tables (never staging or marts) and recomputes, for one UTC day, the aggregate
profit, the growth numbers and the engagement numbers, so a test can compare the dbt marts with a
second implementation that shares no SQL with them. Rule parameters (bot patterns, per-ip rate,
session gap, cost types) come from config/metrics.yaml through metrics_core.rules.

Money is summed unrounded in float64 (the spec fixes no rounding step); compare with the marts
with a tolerance of about half a cent per order.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from metrics_core.rules import MetricRules, metric_rules

AMOUNTS = ("revenue_usd", "refunds_usd", "cost_usd", "profit_usd")


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _ts(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _is_bot_ua(ua: pd.Series, rules: MetricRules) -> pd.Series:
    """Case-insensitive bot pattern match, evaluated once per distinct user agent."""
    rx = re.compile(rules.bot_regex, re.IGNORECASE)
    verdict = {u: bool(rx.search(u)) for u in ua.dropna().unique()}
    return ua.map(verdict).fillna(False).astype(bool)


# ---- profit ----------------------------------------------------------------------------------------------
def _fx_for_day(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, float]:
    fx = _df(con, "SELECT currency, usd_per_unit FROM raw.fx_rates WHERE rate_date = ?", [day])
    rates = {r.currency: float(r.usd_per_unit) for r in fx.itertuples()}
    rates["USD"] = 1.0  # USD converts at 1 whether or not a row exists
    return rates


def _to_usd(amount: pd.Series, currency: pd.Series, rates: dict[str, float], what: str) -> pd.Series:
    missing = sorted(set(currency.unique()) - set(rates))
    if missing:
        raise ValueError(f"raw.fx_rates has no rate for {missing} on the order day ({what})")
    return amount.astype(float) * currency.map(rates).astype(float)


def profit_units_for_day(
    con: duckdb.DuckDBPyConnection, day: date, as_of: datetime | None = None
) -> pd.DataFrame:
    """Unit-level profit of the completed, non-test orders created on `day` (one row per order).

    `as_of` limits refunds to those known at computation time (refunded_at < as_of); None = all.
    """
    rules = metric_rules()
    lo, hi = _ts(day), _ts(day + timedelta(days=1))
    orders = _df(
        con,
        "SELECT order_id, region, currency, gross_amount, discount, status, is_test FROM raw.orders "
        "WHERE created_at >= ? AND created_at < ?",
        [lo, hi],
    )
    orders = orders[(orders["status"] == "completed") & ~orders["is_test"].astype(bool)].copy()
    rates = _fx_for_day(con, day)
    orders["revenue_usd"] = _to_usd(
        orders["gross_amount"] - orders["discount"], orders["currency"], rates, "orders"
    )
    orders = orders.set_index("order_id")

    def lines(sql: str, extra: list | None = None) -> pd.DataFrame:
        """Rows of a line table whose order is one of the day's orders (semi-join on order_id)."""
        con.register("_ref_order_ids", pd.DataFrame({"order_id": orders.index.astype("int64")}))
        try:
            return _df(con, sql, extra)
        finally:
            con.unregister("_ref_order_ids")

    semi = "SEMI JOIN _ref_order_ids USING (order_id)"
    refunds = lines(
        f"SELECT order_id, amount, currency FROM raw.refunds {semi}"
        + (" WHERE refunded_at < ?" if as_of else ""),
        [as_of] if as_of else None,
    )
    costs = lines(f"SELECT order_id, amount, currency, cost_type FROM raw.order_costs {semi}")
    costs = costs[costs["cost_type"].isin(rules.cost_types)]
    fees = lines(
        f"SELECT order_id, processor_fee AS amount, currency FROM raw.payments {semi} "
        "WHERE status = 'captured'"
    )

    def per_order(frame: pd.DataFrame, what: str) -> pd.Series:
        if frame.empty:
            return pd.Series(0.0, index=orders.index)
        usd = _to_usd(frame["amount"], frame["currency"], rates, what)
        return usd.groupby(frame["order_id"]).sum().reindex(orders.index, fill_value=0.0)

    orders["refunds_usd"] = per_order(refunds, "refunds")
    orders["cost_usd"] = per_order(costs, "order_costs") + per_order(fees, "payments")
    orders["profit_usd"] = orders["revenue_usd"] - orders["refunds_usd"] - orders["cost_usd"]
    return orders[["region", *AMOUNTS]].reset_index()


def profit_for_day(con: duckdb.DuckDBPyConnection, day: date, as_of: datetime | None = None) -> dict:
    """Aggregate profit of `day`: the four USD sums and the order count, overall and by region."""
    units = profit_units_for_day(con, day, as_of)
    out: dict = {a: float(units[a].sum()) for a in AMOUNTS}
    out["orders"] = len(units)
    out["by_region"] = {
        region: {**{a: float(g[a].sum()) for a in AMOUNTS}, "orders": len(g)}
        for region, g in units.groupby("region")
    }
    return out


# ---- growth ----------------------------------------------------------------------------------------------
def persons_until(con: duckdb.DuckDBPyConnection, day: date) -> pd.DataFrame:
    """Non-bot signup records up to `day` grouped into persons (email hash): one row per user id,
    with the person's first signup time, first-signup day and acquisition channel."""
    rules = metric_rules()
    users = _df(
        con,
        "SELECT user_id, signed_up_at, channel, email_hash, user_agent FROM raw.users WHERE signed_up_at < ?",
        [_ts(day + timedelta(days=1))],
    )
    users = users[~_is_bot_ua(users["user_agent"], rules)]
    users = users.sort_values(["signed_up_at", "user_id"], kind="stable")
    first = users.groupby("email_hash", sort=False).first()
    users["first_signup_at"] = users["email_hash"].map(first["signed_up_at"])
    users["acquisition_channel"] = users["email_hash"].map(first["channel"])
    users["first_signup_day"] = users["first_signup_at"].dt.date
    return users


def growth_for_day(con: duckdb.DuckDBPyConnection, day: date) -> dict:
    """new_users, churned_users, net_growth and active_accounts of `day` (persons by email hash)."""
    users = persons_until(con, day)
    closures = _df(
        con,
        "SELECT user_id, closed_at FROM raw.account_closures WHERE closed_at < ?",
        [_ts(day + timedelta(days=1))],
    )
    # a closure for a user id that never (non-bot) signed up is a data error, not churn
    closures = closures.merge(users[["user_id", "email_hash"]], on="user_id", how="inner")
    first_close = closures.groupby("email_hash")["closed_at"].min().dt.date
    persons = users.drop_duplicates("email_hash").set_index("email_hash")
    new = persons[persons["first_signup_day"] == day]
    churned = int((first_close == day).sum())
    active = int((~persons.index.isin(first_close.index)).sum())
    return {
        "new_users": len(new),
        "churned_users": churned,
        "net_growth": len(new) - churned,
        "active_accounts": active,
        "new_users_by_channel": new["acquisition_channel"].value_counts().to_dict(),
    }


# ---- engagement ------------------------------------------------------------------------------------------
def counted_events(con: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pd.DataFrame:
    """Deduplicated, non-bot events with a user id whose event_time falls on first_day..last_day."""
    rules = metric_rules()
    lo, hi = _ts(first_day), _ts(last_day + timedelta(days=1))
    ev = _df(
        con,
        "SELECT event_id, user_id, event_time, received_at, ip, user_agent FROM raw.app_events "
        "WHERE event_id IN (SELECT event_id FROM raw.app_events WHERE event_time >= ? AND event_time < ?)",
        [lo, hi],
    )
    # dedup on event id: the first received copy is kept
    ev = ev.sort_values(["received_at"], kind="stable").drop_duplicates("event_id", keep="first")
    ev = ev[(ev["event_time"] >= lo) & (ev["event_time"] < hi)].copy()
    ev["day"] = ev["event_time"].dt.date
    per_minute = ev.groupby(["ip", ev["event_time"].dt.floor("min")]).size()
    flooding = per_minute[per_minute > rules.max_events_per_ip_minute].reset_index()
    # all of a flooding ip's events on that UTC day are bot traffic
    flood_days = pd.MultiIndex.from_arrays([flooding["ip"], flooding["event_time"].dt.date]).unique()
    flood = pd.Series(pd.MultiIndex.from_arrays([ev["ip"], ev["day"]]).isin(flood_days), index=ev.index)
    bot = _is_bot_ua(ev["user_agent"], rules) | flood
    ev = ev[~bot & ev["user_id"].notna()]
    ev["user_id"] = ev["user_id"].astype("int64")
    return ev[["event_id", "user_id", "event_time", "day"]]


def _sessions_starting_on(ev: pd.DataFrame, day: date, gap_minutes: int) -> pd.Series:
    """Lengths in seconds of the sessions whose first event is on `day`."""
    ev = ev.sort_values(["user_id", "event_time"], kind="stable")
    gap = ev.groupby("user_id")["event_time"].diff()
    new_session = gap.isna() | (gap > pd.Timedelta(minutes=gap_minutes))
    sid = new_session.cumsum()
    s = ev.groupby(sid)["event_time"].agg(["min", "max"])
    s = s[s["min"].dt.date == day]
    return (s["max"] - s["min"]).dt.total_seconds()


def engagement_for_day(con: duckdb.DuckDBPyConnection, day: date) -> dict:
    """DAU, WAU, MAU, stickiness, sessions per user and mean session length of `day`.

    Sessions read one day either side, so a session is assumed not to last over 24 hours.
    """
    rules = metric_rules()
    ev = counted_events(con, day - timedelta(days=29), day + timedelta(days=1))
    in_window = ev[ev["day"] <= day]
    dau = in_window.loc[in_window["day"] == day, "user_id"].nunique()
    wau = in_window.loc[in_window["day"] >= day - timedelta(days=6), "user_id"].nunique()
    mau = in_window["user_id"].nunique()
    near = ev[ev["day"] >= day - timedelta(days=1)]
    lengths = _sessions_starting_on(near, day, rules.session_gap_minutes)
    return {
        "dau": int(dau),
        "wau": int(wau),
        "mau": int(mau),
        "stickiness": dau / mau if mau else None,
        "sessions": len(lengths),
        "sessions_per_user": len(lengths) / dau if dau else None,
        "avg_session_seconds": float(lengths.mean()) if len(lengths) else None,
    }
