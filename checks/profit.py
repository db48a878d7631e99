"""Profit runbook checks (runbooks/profit_agg.md, runbooks/profit_unit.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd

from checks.baseline import fill_series, history_start, score_days, score_groups
from checks.core import DayResult, EvalContext, implements, num, to_date
from checks.relations import relation
from checks.sql import dwindow, in_list, ts, window
from metrics_core.config import pipeline_config, require_daily
from metrics_core.rules import metric_rules


@implements("raw/orders", "orders_volume_vs_weekday_baseline")
def orders_volume(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Missing or delayed transactions: the orders the metric counts (completed, not test,
    distinct order id) against the same weekday, and source freshness (the newest order of the
    day may not be older than many typical gaps). Test orders and duplicate rows are reported
    apart and never move the count (their own ERROR checks judge them)."""
    cfg = ctx.settings.profit.orders_volume
    start = history_start(ctx, days)
    rows = ctx.by_day(
        """
        select cast(created_at as date) as day, count(*) as n, max(created_at) as newest,
               count(distinct case when status = 'completed' and not is_test then order_id end) as counted,
               sum(case when is_test then 1 else 0 end) as test_rows,
               count(*) - count(distinct order_id) as duplicate_rows,
               sum(case when status <> 'completed' and not is_test then 1 else 0 end) as not_completed
        from raw.orders where created_at >= ? and created_at < ? group by 1
        """,
        [ts(start), window(days)[1]],
    )
    series = fill_series(
        {d: r["counted"] for d, r in rows.items()}, start, max(days) + timedelta(days=1), zero_fill=True
    )
    scored = score_days(
        ctx,
        series,
        days,
        floor=cfg.floor_pct,
        direction=cfg.direction,
        label="counted orders",
        min_baseline=cfg.min_volume,
    )
    out = []
    for r in scored:
        row = rows.get(r.day)
        if not row or not row["n"]:
            out.append(r)
            continue
        apart = {k: int(row[k] or 0) for k in ("test_rows", "duplicate_rows", "not_completed")}
        r = replace(
            r,
            message=r.message
            + f" (not counted: {apart['test_rows']} test, {apart['duplicate_rows']} duplicate, "
            f"{apart['not_completed']} not completed of {int(row['n'])} rows)",
            details={**r.details, **apart, "rows": int(row["n"])},
        )
        end = min(ts(r.day + timedelta(days=1)), ctx.now)
        lag = (end - pd.Timestamp(row["newest"]).to_pydatetime()).total_seconds() / 60
        elapsed = (end - ts(r.day)).total_seconds() / 60
        expected = max(int(row["n"]), r.baseline or 0)  # a stalled feed also depresses the count
        allowed = max(cfg.freshness_min_minutes, cfg.freshness_gap_multiple * elapsed / expected)
        if lag > allowed:
            r = DayResult(
                r.day,
                False,
                r.value,
                r.baseline,
                r.threshold,
                f"orders stale: newest order of {r.day} is {lag:.0f} min before {end:%Y-%m-%d %H:%M} "
                f"(allowed {allowed:.0f} min); " + r.message,
                {**r.details, "freshness_lag_minutes": lag, "freshness_allowed_minutes": allowed},
            )
        out.append(r)
    return out


@implements("raw/refunds", "late_refund_monitor")
def late_refunds(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Refunds landing on day D for orders older than the lookback cannot be restated
    automatically: the published day stays wrong until an approved backfill."""
    cfg = ctx.settings.profit.late_refunds
    lookback = pipeline_config().get("profit_agg").lookback_days
    rows = ctx.by_day(
        """
        select cast(r.refunded_at as date) as day, count(*) as n,
               sum(case when datediff('day', cast(o.created_at as date), cast(r.refunded_at as date)) > ?
                        then 1 else 0 end) as beyond,
               sum(case when datediff('day', cast(o.created_at as date), cast(r.refunded_at as date))
                        between 1 and ? then 1 else 0 end) as restated,
               sum(case when datediff('day', cast(o.created_at as date), cast(r.refunded_at as date))
                        between 1 and ? then r.amount else 0 end) as restated_amount
        from raw.refunds r left join raw.orders o on o.order_id = r.order_id
        where r.refunded_at >= ? and r.refunded_at < ?
        group by 1
        """,
        [lookback, lookback, lookback, *window(days)],
    )
    out = []
    for d in days:
        r = rows.get(d)
        if not r or not r["n"]:
            out.append(DayResult(d, True, value=0, threshold=cfg.max_late_share, message="no refunds landed"))
            continue
        beyond, n = int(r["beyond"] or 0), int(r["n"])
        share = beyond / n
        failed = beyond >= cfg.min_late_count and share > cfg.max_late_share
        out.append(
            DayResult(
                d,
                not failed,
                value=share,
                threshold=cfg.max_late_share,
                message=(
                    f"{beyond} of {n} refunds landing on {d} belong to orders older than the "
                    f"{lookback}-day lookback ({share:.1%}; limit {cfg.max_late_share:.0%} and "
                    f"{cfg.min_late_count} refunds); {int(r['restated'] or 0)} restate days in the lookback"
                ),
                details={
                    "refunds": n,
                    "beyond_lookback": beyond,
                    "restated_within_lookback": int(r["restated"] or 0),
                    "restatement_delta_amount": num(r["restated_amount"]),
                    "lookback_days": lookback,
                },
            )
        )
    return out


@implements("raw/orders", "partition_day_boundaries_utc")
def day_boundaries(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """A shifted clock moves orders across midnight: their captured payments (stamped by the
    processor in UTC) then precede the order or trail it by hours."""
    cfg = ctx.settings.profit.timezone
    lo, hi = window(days)
    plo, phi = window(days, back=1, ahead=1)
    rows = ctx.by_day(
        """
        with p as (
            select order_id, min(paid_at) as paid_at from raw.payments
            where status = 'captured' and paid_at >= ? and paid_at < ? group by 1
        )
        select cast(o.created_at as date) as day, count(*) as n,
               sum(case when p.paid_at < o.created_at then 1 else 0 end) as negative,
               median(datediff('minute', o.created_at, p.paid_at)) as median_lag
        from raw.orders o join p on p.order_id = o.order_id
        where o.created_at >= ? and o.created_at < ?
        group by 1
        """,
        [plo, phi, lo, hi],
    )
    out = []
    for d in days:
        r = rows.get(d)
        if not r or int(r["n"]) < cfg.min_orders:
            out.append(DayResult(d, None, message=f"fewer than {cfg.min_orders} paid orders on {d}"))
            continue
        share = int(r["negative"]) / int(r["n"])
        lag = abs(float(r["median_lag"] or 0))
        ok = share <= cfg.max_negative_payment_lag_share and lag <= cfg.max_median_payment_lag_minutes
        out.append(
            DayResult(
                d,
                ok,
                value=share,
                threshold=cfg.max_negative_payment_lag_share,
                message=(
                    f"{share:.2%} of {int(r['n'])} paid orders on {d} were paid before they were created "
                    f"(limit {cfg.max_negative_payment_lag_share:.0%}); median order-to-payment lag "
                    f"{lag:.0f} min (limit {cfg.max_median_payment_lag_minutes:.0f}): "
                    + ("consistent UTC day boundaries" if ok else "created_at looks shifted off UTC")
                ),
                details={"paid_orders": int(r["n"]), "median_lag_minutes": lag},
            )
        )
    return out


FX_SCALE = 1e6  # rates are scored in micro-USD per unit, so the detector's log scale sees them as counts


@implements("raw/fx_rates", "fx_rate_vs_own_history")
def fx_rate_jump(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Reference data against its own history: each currency's rate of the day vs its same-weekday
    baseline. A rate off by an order of magnitude converts every amount of the day wrongly while
    every coverage and contract check still passes."""
    cfg = ctx.settings.profit.fx_jump
    start = history_start(ctx, days)
    end = max(days) + timedelta(days=1)
    frame = ctx.df(
        "select rate_date as day, currency, avg(usd_per_unit) as rate from raw.fx_rates "
        "where rate_date >= ? and rate_date < ? and currency <> ? group by 1, 2",
        [start, end, ctx.settings.profit.fx.base_currency],
    )
    groups: dict[str, dict[date, float]] = {}
    for r in frame.itertuples():
        if r.rate is not None and not pd.isna(r.rate):
            groups.setdefault(str(r.currency), {})[to_date(r.day)] = float(r.rate) * FX_SCALE
    if not groups:
        return [DayResult(d, None, message=f"raw.fx_rates has no non-base rates up to {d}") for d in days]
    return score_groups(
        ctx,
        groups,
        days,
        floor=cfg.floor_pct,
        direction=cfg.direction,
        label="usd_per_unit (x1e6)",
    )


@implements("raw/order_costs", "cost_rates_vs_own_history")
def cost_rates(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """The cost table against its own history: cost per 1,000 USD of revenue of each cost type,
    for the orders of the day that have the line (late lines do not move it), vs the same weekday.
    Cost lines computed with another version of the cost table (COGS lookup) move it at once."""
    cfg = ctx.settings.profit.cost_rates
    base = ctx.settings.profit.fx.base_currency
    start = history_start(ctx, days)
    end = max(days) + timedelta(days=1)
    frame = ctx.df(
        f"""
        with o as (
            select o.order_id, cast(o.created_at as date) as day,
                   (o.gross_amount - o.discount) * case when o.currency = ? then 1 else x.usd_per_unit end
                       as revenue_usd,
                   case when o.currency = ? then 1 else x.usd_per_unit end as rate, o.currency
            from raw.orders o
            left join raw.fx_rates x on x.rate_date = cast(o.created_at as date) and x.currency = o.currency
            where o.created_at >= ? and o.created_at < ? and o.status = 'completed' and not o.is_test
        ),
        c as (
            select order_id, cost_type, currency, sum(amount) as amount from raw.order_costs
            where recorded_at >= ? and recorded_at < ? and cost_type in ({in_list(cfg.cost_types)})
            group by 1, 2, 3
        )
        select o.day, c.cost_type, count(distinct o.order_id) as orders,
               1000 * sum(c.amount * o.rate) / nullif(sum(o.revenue_usd), 0) as per_1000
        from o join c on c.order_id = o.order_id and c.currency = o.currency
        where o.rate is not null
        group by 1, 2
        """,
        [base, base, ts(start), ts(end), ts(start), ts(end + timedelta(days=1))],
    )
    groups: dict[str, dict[date, float]] = {}
    for r in frame.itertuples():
        if int(r.orders) >= cfg.min_orders and r.per_1000 is not None and not pd.isna(r.per_1000):
            groups.setdefault(str(r.cost_type), {})[to_date(r.day)] = float(r.per_1000)
    version = metric_rules().cost_table_version
    if not groups:
        return [
            DayResult(d, None, message=f"fewer than {cfg.min_orders} orders with cost lines per type")
            for d in days
        ]
    out = []
    for r in score_groups(
        ctx,
        groups,
        days,
        floor=cfg.floor_pct,
        direction=cfg.direction,
        label="cost per 1,000 USD revenue,",
    ):
        out.append(
            replace(
                r,
                message=r.message + f"; cost table version {version} (config/metrics.yaml)",
                details={**r.details, "cost_table_version": version},
            )
        )
    return out


# ---------------------------------------------------------------- marts
def _fct() -> str:
    return relation("fct_order_profit")


@implements("fct_order_profit", "no_test_orders")
def no_test_orders(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Test orders must never reach a fact; checked by joining back to the raw flag so a dropped
    is_test column in the model cannot hide them."""
    rows = ctx.by_day(
        f"""
        select f.order_date as day, sum(case when o.is_test then 1 else 0 end) as test_orders, count(*) as n
        from {_fct()} f join raw.orders o on o.order_id = f.order_id
        where f.order_date >= ? and f.order_date < ? group by 1
        """,
        list(dwindow(days)),
    )
    out = []
    for d in days:
        r = rows.get(d, {"test_orders": 0, "n": 0})
        t = int(r["test_orders"] or 0)
        out.append(
            DayResult(
                d,
                t == 0,
                value=t,
                threshold=0,
                message=f"{t} test/internal orders in fct_order_profit on {d}",
            )
        )
    return out


@implements("fct_order_profit", "cost_coverage_per_region")
def cost_coverage(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    cfg = ctx.settings.profit.cost_coverage
    types = in_list(cfg.required_cost_types)
    n_types = len(cfg.required_cost_types)
    frame = ctx.df(
        f"""
        with wm as (select max(recorded_at) as watermark from raw.order_costs),
        f as (
            select order_id, order_date, region, created_at from {_fct()}
            where order_date >= ? and order_date < ?
        ),
        c as (
            select c.order_id, count(distinct c.cost_type) as n_types
            from raw.order_costs c join f on f.order_id = c.order_id
            where c.cost_type in ({types}) group by 1
        )
        select f.order_date as day, f.region,
               sum(case when f.created_at <= wm.watermark - ? * interval '1 hour'
                        then 1 else 0 end) as orders,
               sum(case when f.created_at <= wm.watermark - ? * interval '1 hour'
                         and coalesce(c.n_types, 0) = {n_types} then 1 else 0 end) as covered,
               sum(case when f.created_at > wm.watermark - ? * interval '1 hour' then 1 else 0 end) as pending
        from f cross join wm left join c on c.order_id = f.order_id
        group by 1, 2
        """,
        [*dwindow(days), *([cfg.cost_lines_max_lag_hours] * 3)],
    )
    out = []
    for d in days:
        sub = frame[frame["day"].astype(str).str[:10] == d.isoformat()]
        pending = int(sub["pending"].sum()) if not sub.empty else 0
        sub = sub[sub["orders"] >= cfg.min_orders_per_region]
        if sub.empty:
            out.append(
                DayResult(
                    d,
                    None,
                    message=f"no completed orders due for cost lines on {d} "
                    f"({pending} younger than {cfg.cost_lines_max_lag_hours:g} h before the newest "
                    "cost line)",
                )
            )
            continue
        cov = {str(r.region): float(r.covered) / float(r.orders) for r in sub.itertuples()}
        worst = min(cov, key=cov.get)
        bad = sorted(k for k, v in cov.items() if v < cfg.min_coverage)
        out.append(
            DayResult(
                d,
                not bad,
                value=cov[worst],
                threshold=cfg.min_coverage,
                message=(
                    f"cost coverage ({'+'.join(cfg.required_cost_types)}) on {d}: lowest {worst} "
                    f"{cov[worst]:.2%} (min {cfg.min_coverage:.1%})"
                    + (f"; regions below: {', '.join(bad)}" if bad else "")
                ),
                details={
                    "coverage_by_region": {k: round(v, 5) for k, v in cov.items()},
                    "regions_below": bad,
                },
            )
        )
    return out


@implements("fct_order_profit", "fx_rate_coverage")
def fx_rate_coverage(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Every amount of a day's orders (order, cost lines, payments, refunds) in a non-base
    currency needs a rate for the order's day, and the fact must record the rate-set version."""
    base = ctx.settings.profit.fx.base_currency
    rows = ctx.by_day(
        f"""
        with f as (select order_id, order_date, fx_rate_set_version from {_fct()}
                   where order_date >= ? and order_date < ?),
        amounts as (
            select f.order_id, f.order_date, o.currency from f join raw.orders o on o.order_id = f.order_id
            union all
            select f.order_id, f.order_date, c.currency
            from f join raw.order_costs c on c.order_id = f.order_id
            union all
            select f.order_id, f.order_date, p.currency from f join raw.payments p on p.order_id = f.order_id
            union all
            select f.order_id, f.order_date, r.currency from f join raw.refunds r on r.order_id = f.order_id
        )
        select a.order_date as day, count(*) as amounts,
               sum(case when a.currency <> ? and x.usd_per_unit is null then 1 else 0 end) as missing_rate,
               (select count(*) from f where f.order_date = a.order_date and f.fx_rate_set_version is null)
                   as missing_version
        from amounts a left join raw.fx_rates x on x.rate_date = a.order_date and x.currency = a.currency
        group by 1
        """,
        [*dwindow(days), base],
    )
    out = []
    for d in days:
        r = rows.get(d) or {}
        missing, version = int(r.get("missing_rate") or 0), int(r.get("missing_version") or 0)
        ok = missing == 0 and version == 0
        out.append(
            DayResult(
                d,
                ok,
                value=missing,
                threshold=0,
                message=(
                    f"{missing} of {int(r.get('amounts') or 0)} amounts of {d}'s orders have no FX rate for "
                    f"the day; {version} fact rows without a rate-set version"
                ),
                details={"amounts_without_rate": missing, "rows_without_rate_set_version": version},
            )
        )
    return out


@implements("agg_profit_daily", "reconciles_with_unit_profit")
def reconciles(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    tol = ctx.settings.profit.reconciliation.tolerance_usd
    rows = ctx.by_day(
        f"""
        with u as (select order_date, sum(profit_usd) as unit_profit, count(*) as unit_orders from {_fct()}
                   where order_date >= ? and order_date < ? group by 1)
        select a.order_date as day, a.profit_usd, a.revenue_usd, a.refunds_usd, a.cost_usd, a.orders,
               u.unit_profit, u.unit_orders
        from {relation("agg_profit_daily")} a left join u on u.order_date = a.order_date
        where a.order_date >= ? and a.order_date < ?
        """,
        [*dwindow(days), *dwindow(days)],
    )
    out = []
    for d in days:
        r = rows.get(d)
        if r is None:
            out.append(DayResult(d, False, message=f"agg_profit_daily has no row for {d}"))
            continue
        # a day without unit rows (no orders) comes back as NaN from the left join: zero, not an error
        agg, unit = num(r["profit_usd"]) or 0.0, num(r["unit_profit"]) or 0.0
        revenue, refunds, cost = (num(r[k]) or 0.0 for k in ("revenue_usd", "refunds_usd", "cost_usd"))
        identity = revenue - refunds - cost
        diff, idiff = abs(agg - unit), abs(identity - agg)
        n_agg, n_unit = int(num(r["orders"]) or 0), int(num(r["unit_orders"]) or 0)
        n_ok = n_agg == n_unit
        ok = diff <= tol and idiff <= tol and n_ok
        out.append(
            DayResult(
                d,
                ok,
                value=agg,
                baseline=unit,
                threshold=tol,
                message=(
                    f"aggregate profit {agg:.2f} vs sum of unit profit {unit:.2f} (diff {diff:.2f}); "
                    f"revenue - refunds - cost = {identity:.2f} (diff {idiff:.2f}); orders "
                    f"{n_agg} vs {n_unit}; tolerance {tol} USD"
                ),
                details={"profit_diff_usd": diff, "identity_diff_usd": idiff},
            )
        )
    return out


@implements("agg_profit_daily", "run_duration_vs_baseline")
def run_duration(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Single-day runs of the model (ops.asset_runs) against the median of earlier ones; range
    backfills are not comparable and are skipped."""
    cfg = ctx.settings.profit.run_duration
    exists = ctx.df(
        "select count(*) as n from information_schema.tables where lower(table_schema) = 'ops' "
        "and lower(table_name) = 'asset_runs'"
    )
    if not int(exists["n"].iloc[0]):
        return [DayResult(d, None, message="no runs recorded yet (ops.asset_runs is empty)") for d in days]
    frame = ctx.df(
        "select window_start as day, datediff('second', started_at, ended_at) as secs, ended_at "
        "from ops.asset_runs where asset_key = ? and datediff('day', window_start, window_end) = 1 "
        "order by ended_at",
        [cfg.asset_key],
    )
    frame["day"] = frame["day"].map(to_date)
    out = []
    for d in days:
        mine = frame[frame["day"] == d]
        if mine.empty:
            out.append(DayResult(d, None, message=f"no single-day run of {cfg.asset_key} recorded for {d}"))
            continue
        last = mine.iloc[-1]
        prior = frame[frame["ended_at"] < last["ended_at"]].tail(28)
        if float(last["secs"]) > cfg.max_seconds:
            out.append(
                DayResult(
                    d,
                    False,
                    value=float(last["secs"]),
                    threshold=cfg.max_seconds,
                    message=f"run for {d} took {float(last['secs']):.0f} s, above the "
                    f"{cfg.max_seconds:.0f} s limit",
                )
            )
            continue
        if len(prior) < cfg.min_runs:
            out.append(
                DayResult(
                    d,
                    None,
                    value=float(last["secs"]),
                    message=f"only {len(prior)} earlier single-day runs (need {cfg.min_runs})",
                )
            )
            continue
        base = float(prior["secs"].median())
        secs = float(last["secs"])
        slow = secs >= cfg.min_seconds and secs > base * (1 + cfg.floor_pct)
        out.append(
            DayResult(
                d,
                not slow,
                value=secs,
                baseline=base,
                threshold=cfg.floor_pct,
                message=f"run for {d} took {secs:.0f} s vs trailing median {base:.0f} s "
                f"(warn above +{cfg.floor_pct:.0%} and {cfg.min_seconds:.0f} s)",
            )
        )
    return out


@implements("fct_order_profit", "partition_freshness_vs_sla")
def feed_freshness(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Once a day's SLA deadline (profit_unit) has passed, its completed orders must be in the
    experiment feed; before the deadline the day is not due."""
    cfg = ctx.settings.profit.feed_freshness
    deadline = require_daily(pipeline_config().get("profit_unit"), "the partition_freshness_vs_sla check")
    hour, minute = int(deadline.deadline_cron.split()[1]), int(deadline.deadline_cron.split()[0])
    rows = ctx.by_day(
        f"""
        with f as (select order_date, count(*) as n from {_fct()} where order_date >= ? and order_date < ?
                   group by 1)
        select cast(o.created_at as date) as day, count(*) as expected, max(f.n) as present
        from raw.orders o left join f on f.order_date = cast(o.created_at as date)
        where o.created_at >= ? and o.created_at < ? and o.status = 'completed' and not o.is_test
        group by 1
        """,
        [*dwindow(days), *window(days)],
    )
    out = []
    for d in days:
        due = ts(d + timedelta(days=1)) + timedelta(hours=hour, minutes=minute)
        if ctx.now < due:
            out.append(DayResult(d, None, message=f"{d} is not due before {due:%Y-%m-%d %H:%M} UTC"))
            continue
        r = rows.get(d) or {}
        expected, present = int(r.get("expected") or 0), int(r.get("present") or 0)
        share = present / expected if expected else 1.0
        ok = share >= cfg.min_orders_share_of_baseline
        out.append(
            DayResult(
                d,
                ok,
                value=share,
                threshold=cfg.min_orders_share_of_baseline,
                message=f"{present} of {expected} completed orders of {d} in the experiment feed "
                f"after its {due:%H:%M} UTC deadline",
            )
        )
    return out
