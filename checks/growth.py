"""Growth runbook checks (runbooks/growth_agg.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from checks.baseline import fill_series, history_start, pooled_share_test, score_days
from checks.core import DayResult, EvalContext, implements, to_date
from checks.relations import relation
from checks.sql import dwindow, ts, window


@implements("raw/marketing_spend", "spend_present_for_active_channels")
def spend_present(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """A channel that reported spend in the trailing window and not on day D is an API gap."""
    w = ctx.settings.growth.marketing_spend.active_window_days
    frame = ctx.df(
        "select spend_date as day, channel from raw.marketing_spend where spend_date >= ? and spend_date < ? "
        "group by 1, 2",
        list(dwindow(days, back=w)),
    )
    by_day: dict[date, set[str]] = {}
    for r in frame.itertuples():
        by_day.setdefault(_d(r.day), set()).add(str(r.channel))
    out = []
    for d in days:
        active = set().union(*(by_day.get(d - timedelta(days=i), set()) for i in range(1, w + 1)))
        if not active:
            out.append(DayResult(d, None, message=f"no channel reported spend in the {w} days before {d}"))
            continue
        missing = sorted(active - by_day.get(d, set()))
        out.append(
            DayResult(
                d,
                not missing,
                value=len(missing),
                threshold=0,
                message=(
                    f"marketing spend missing on {d} for active channel(s): {', '.join(missing)}"
                    if missing
                    else f"spend present for all {len(active)} active channels on {d}"
                ),
                details={"missing_channels": missing, "active_channels": sorted(active)},
            )
        )
    return out


@implements("raw/account_closures", "churn_log_freshness")
def churn_log_freshness(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Closures of day D arriving late show as a silent churn log (no closure for far longer than
    the usual gap between closures) or, at volume, as a drop against the same weekday."""
    cfg = ctx.settings.growth.churn_log
    start = history_start(ctx, days)
    rows = ctx.by_day(
        "select cast(closed_at as date) as day, count(*) as n, max(closed_at) as newest "
        "from raw.account_closures where closed_at >= ? and closed_at < ? group by 1",
        [ts(start), window(days)[1]],
    )
    series = fill_series(
        {d: r["n"] for d, r in rows.items()}, start, max(days) + timedelta(days=1), zero_fill=True
    )
    scored = {
        r.day: r
        for r in score_days(
            ctx,
            series,
            days,
            floor=cfg.floor_pct,
            direction="drop",
            label="closures",
            min_baseline=cfg.min_volume,
        )
    }
    newest_by_day = sorted((d, pd.Timestamp(r["newest"]).to_pydatetime()) for d, r in rows.items())
    out = []
    for d in days:
        r = scored[d]
        end = min(ts(d + timedelta(days=1)), ctx.now)
        newest = max((n for dd, n in newest_by_day if dd <= d), default=None)
        recent = sum(series.get(d - timedelta(days=i), 0.0) for i in range(1, cfg.rate_window_days + 1))
        if newest is None or recent == 0:
            out.append(
                DayResult(
                    d,
                    r.passed,
                    r.value,
                    r.baseline,
                    r.threshold,
                    r.message + "; no closures in the trailing window to judge freshness",
                    r.details,
                )
            )
            continue
        gap_hours = 24 * cfg.rate_window_days / recent
        allowed = max(cfg.max_hours_since_last_closure, cfg.gap_multiple * gap_hours)
        hours = (end - newest).total_seconds() / 3600
        stale = hours > allowed
        passed = False if (stale or r.passed is False) else (True if r.passed is None else r.passed)
        out.append(
            DayResult(
                d,
                passed,
                value=hours,
                baseline=gap_hours,
                threshold=allowed,
                message=(
                    f"newest closure {hours:.0f} h before the end of {d} (allowed {allowed:.0f} h = "
                    f"max({cfg.max_hours_since_last_closure:g} h, {cfg.gap_multiple:g} x mean gap "
                    f"{gap_hours:.1f} h)); " + r.message
                ),
                details={**r.details, "closures": r.value, "closures_baseline": r.baseline},
            )
        )
    return out


def _d(v) -> date:

    return to_date(v)


# ---------------------------------------------------------------- marts
@implements("agg_growth_daily", "net_growth_within_bounds")
def net_growth_bounds(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    cfg = ctx.settings.growth.net_growth
    rows = ctx.by_day(
        f"""
        select g.day, g.new_users, g.churned_users, g.net_growth, g.active_accounts,
               lag(g.active_accounts) over (order by g.day) as prev_active
        from {relation("agg_growth_daily")} g
        where g.day >= ? and g.day < ?
        """,
        [min(days) - timedelta(days=1), max(days) + timedelta(days=1)],
    )
    out = []
    for d in days:
        r = rows.get(d)
        if r is None:
            out.append(DayResult(d, False, message=f"agg_growth_daily has no row for {d}"))
            continue
        new, churn, net = (int(r[k] or 0) for k in ("new_users", "churned_users", "net_growth"))
        prev = int(r["prev_active"] or 0)
        problems = []
        if new < 0 or churn < 0:
            problems.append(f"negative counts (new {new}, churned {churn})")
        if net != new - churn:
            problems.append(f"net_growth {net} != new {new} - churned {churn}")
        share = abs(net) / prev if prev else None
        if prev >= cfg.min_active_accounts and share is not None and share > cfg.max_abs_share_of_active:
            problems.append(
                f"|net growth| {abs(net)} is {share:.1%} of {prev} active accounts "
                f"(limit {cfg.max_abs_share_of_active:.0%})"
            )
        out.append(
            DayResult(
                d,
                not problems,
                value=net,
                baseline=prev,
                threshold=cfg.max_abs_share_of_active,
                message="; ".join(problems)
                if problems
                else f"net growth {net} (new {new} - churned {churn}) within bounds on {d}",
                details={"new_users": new, "churned_users": churn, "share_of_active": share},
            )
        )
    return out


def _signup_shares(ctx: EvalContext, days: list[date], k_expr: str, n_expr: str, what: str, cfg):
    rows = ctx.by_day(
        f"select day, {n_expr} as n, {k_expr} as k "
        f"from {relation('agg_signup_quality_daily')} where day >= ? and day < ?",
        [min(days) - timedelta(days=cfg.baseline_days), max(days) + timedelta(days=1)],
    )
    return pooled_share_test(rows, days, cfg, what=what, of="signups")


@implements("agg_signup_quality_daily", "bot_signup_share_vs_baseline")
def bot_signup_share(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Signups per day are small counts, so the day's bot share is tested against the pooled bot
    rate of the previous days with a one-sided binomial test, plus a business floor in points."""
    cfg = ctx.settings.growth.bot_signups
    return _signup_shares(ctx, days, "bot_signups", "signups", "flagged as bots", cfg)


@implements("agg_signup_quality_daily", "repeat_signup_share_vs_baseline")
def repeat_signup_share(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Duplicate-person rate: non-bot signups of a person who already has a user id (same email
    hash, new user id, another channel). The metric counts each person once, so a rise changes no
    published number; it means a source (a channel's signup feed) broke and is worth knowing."""
    cfg = ctx.settings.growth.repeat_signups
    return _signup_shares(
        ctx, days, "repeat_signups", "signups - bot_signups", "signed up again as an existing person", cfg
    )
