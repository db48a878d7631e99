"""Engagement runbook checks (runbooks/engagement_agg.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from checks import day_cache
from checks.baseline import fill_series, history_start, score_days
from checks.core import DayResult, EvalContext, implements, to_date
from checks.day_cache import day_fingerprints
from checks.relations import relation
from checks.sql import dwindow, portable_regex, regex_search, ts, window
from metrics_core.rules import metric_rules


@implements("raw/app_events", "event_freshness")
def event_freshness(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """A stuck consumer leaves the end of the day empty: the newest received event of day D must
    be within the allowed lag of D's end (or of now, for the current day)."""
    lag_max = ctx.settings.engagement.event_freshness.max_lag_minutes
    rows = ctx.by_day(
        "select cast(event_time as date) as day, max(event_time) as newest_event, "
        "max(received_at) as newest_recv, "
        "count(*) as n from raw.app_events where event_time >= ? and event_time < ? group by 1",
        list(window(days)),
    )
    out = []
    for d in days:
        r = rows.get(d)
        end = min(ts(d + timedelta(days=1)), ctx.now)
        if not r:
            out.append(
                DayResult(
                    d,
                    False,
                    value=None,
                    threshold=lag_max,
                    message=f"no events at all for {d} (ingestion stalled?)",
                )
            )
            continue
        newest = pd.Timestamp(r["newest_event"]).to_pydatetime()
        lag = max((end - newest).total_seconds() / 60, 0.0)
        out.append(
            DayResult(
                d,
                lag <= lag_max,
                value=lag,
                threshold=lag_max,
                message=f"newest event of {d} at {newest:%H:%M}, {lag:.0f} min before {end:%Y-%m-%d %H:%M} "
                f"(limit {lag_max:.0f} min)",
                details={"newest_received_at": str(r["newest_recv"]), "events": int(r["n"])},
            )
        )
    return out


# days of raw events deduplicated per query when days are missing from the kept counts: the
# dedup's hash table holds every event id of a query (SF 10 x 30 days: 207 M ids, far past a
# few GB), a week of them is bounded; a performance knob, not a rule
COUNT_CHUNK_DAYS = 7

# the raw app_events columns the counts read: a day's fingerprint covers every one of them
EVENT_COLUMNS = (
    "event_id", "user_id", "device_id", "session_hint", "event_type", "event_time", "received_at", "ip",
    "user_agent", "schema_version",
)


def metric_event_counts(
    ctx: EvalContext, start: date, end: date, null_columns: tuple[str, ...] = ()
) -> dict[date, dict[str, Any]]:
    """Per event day of raw.app_events in [start, end): received rows, and of the deduplicated
    events (first received copy) the bot events, the anonymous ones (no user id) and the counted
    ones, by the metric's own rules (config/metrics.yaml, as int_app_events_window applies them);
    `null_columns` adds the NULLs of those columns among the non-bot events (null_<column>).

    Every count of a day depends only on that day's raw rows (copies of an event share its
    event_time; flooding is per ip and day), so past days are kept in ops.check_day_cache and
    only days whose raw rows changed are computed again (checks/day_cache.py). Within a step the
    result is shared by the two raw checks that read it (events volume, null rates)."""
    columns = tuple(sorted({*null_columns, *ctx.settings.critical_fields.fields.get("app_events", {})}))
    memo_key = ("metric_event_counts", start, end, columns)
    if memo_key not in ctx.memo:
        ctx.memo[memo_key] = _kept_event_counts(ctx, start, end, columns)
    return ctx.memo[memo_key]


def _kept_event_counts(
    ctx: EvalContext, start: date, end: date, null_columns: tuple[str, ...]
) -> dict[date, dict[str, Any]]:
    fingerprints = day_fingerprints(
        ctx, "raw.app_events", "event_time", sorted({*EVENT_COLUMNS, *null_columns}), start, end
    )
    sql, params = _event_counts_query(ctx, null_columns)
    key = day_cache.rule_key(sql, params)
    return day_cache.per_day(
        ctx,
        "raw/app_events:metric_event_counts",
        key,
        fingerprints,
        lambda days: _metric_event_counts(ctx, days, null_columns),
        chunk_days=COUNT_CHUNK_DAYS,
    )


def _event_counts_query(ctx: EvalContext, null_columns: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The counts query over `{days}` (an OR of event_time ranges, bound first), and its rule parameters."""
    rules = metric_rules()
    backend = ctx.warehouse.backend
    nulls = "".join(
        f", sum(case when not is_bot and {c} is null then 1 else 0 end) as null_{c}" for c in null_columns
    )
    sql = f"""
        with r as (
            select event_id, user_id, device_id, session_hint, event_type, event_time, received_at, ip,
                   user_agent, schema_version
            from raw.app_events where {{days}}
        ),
        dup as (select event_id from r group by event_id having count(*) > 1),
        d as (
            select r.* from r left join dup on dup.event_id = r.event_id where dup.event_id is null
            union all
            select r.* from r inner join dup on dup.event_id = r.event_id
            qualify row_number() over (
                partition by r.event_id
                order by r.received_at, r.event_time, r.user_id, r.device_id, r.event_type, r.ip, r.user_agent
            ) = 1
        ),
        flood as (
            select distinct ip, event_date from (
                select ip, cast(event_time as date) as event_date, count(*) as n
                from d group by ip, cast(event_time as date), date_trunc('minute', event_time)
            ) m where n > ?
        ),
        ua as (
            select user_agent, {regex_search("user_agent", backend)} as is_bot_ua
            from (select distinct user_agent from d) u
        ),
        f as (
            select d.*, cast(d.event_time as date) as day,
                   coalesce(ua.is_bot_ua, false) or fl.ip is not null as is_bot
            from d
            left join ua on ua.user_agent = d.user_agent
            left join flood fl on fl.ip = d.ip and fl.event_date = cast(d.event_time as date)
        ),
        received as (select cast(event_time as date) as day, count(*) as n from r group by 1)
        select f.day, max(received.n) as raw_rows, count(*) as deduped,
               sum(case when is_bot then 1 else 0 end) as bots,
               sum(case when not is_bot and user_id is null then 1 else 0 end) as anonymous,
               sum(case when not is_bot and user_id is not null then 1 else 0 end) as counted{nulls}
        from f join received on received.day = f.day
        group by f.day
        """
    return sql, [rules.max_events_per_ip_minute, portable_regex(rules.bot_regex, backend)]


def _metric_event_counts(
    ctx: EvalContext, days: list[date], null_columns: tuple[str, ...]
) -> dict[date, dict[str, Any]]:
    """The counts of exactly `days` (each day is computed from its own raw rows only)."""
    sql, params = _event_counts_query(ctx, null_columns)
    ranges = day_cache.day_ranges(days)
    predicate = " or ".join(["(event_time >= ? and event_time < ?)"] * len(ranges))
    bounds = [ts(b) for r in ranges for b in r]
    return ctx.by_day(sql.replace("{days}", f"({predicate})"), [*bounds, *params])


@implements("raw/app_events", "events_volume_vs_weekday_baseline")
def events_volume(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Missing events: the events the metric counts (deduplicated, not bots, with a user id)
    against the same weekday. Bot floods and duplicate deliveries the metric filters out are
    reported apart and never move this count (their own checks warn)."""
    cfg = ctx.settings.engagement.events_volume
    start = history_start(ctx, days)
    end = max(days) + timedelta(days=1)
    rows = metric_event_counts(ctx, start, end)
    series = fill_series({d: r["counted"] for d, r in rows.items()}, start, end, zero_fill=True)
    out = []
    for r in score_days(
        ctx,
        series,
        days,
        floor=cfg.floor_pct,
        direction=cfg.direction,
        label="counted events",
        min_baseline=cfg.min_volume,
    ):
        row = rows.get(r.day) or {}
        apart = {
            "received_rows": int(row.get("raw_rows") or 0),
            "duplicate_rows": int((row.get("raw_rows") or 0) - (row.get("deduped") or 0)),
            "bot_events": int(row.get("bots") or 0),
            "anonymous_events": int(row.get("anonymous") or 0),
        }
        note = (
            f" (not counted: {apart['duplicate_rows']} duplicate rows, {apart['bot_events']} bot events, "
            f"{apart['anonymous_events']} anonymous events of {apart['received_rows']} received)"
        )
        out.append(replace(r, message=r.message + note, details={**r.details, **apart}))
    return out


# ---------------------------------------------------------------- marts
def _quality(ctx: EvalContext, days: list[date], expr: str, back: bool = True) -> dict[date, float]:
    start = history_start(ctx, days) if back else min(days)
    rows = ctx.by_day(
        f"select day, {expr} as v from {relation('agg_event_quality_daily')} where day >= ? and day < ?",
        [start, max(days) + timedelta(days=1)],
    )
    return {d: float(r["v"]) for d, r in rows.items() if r["v"] is not None and not pd.isna(r["v"])}


@implements("agg_event_quality_daily", "duplicate_rate_vs_baseline")
def duplicate_rate(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    cfg = ctx.settings.engagement.duplicate_rate
    series = _quality(ctx, days, "duplicate_rate")
    scored = score_days(
        ctx, series, days, floor=cfg.floor_pp, direction="spike", kind="ratio", label="duplicate rate"
    )
    out = []
    for r in scored:
        if r.value is not None and r.value > cfg.max_rate:
            r = DayResult(
                r.day,
                False,
                r.value,
                r.baseline,
                cfg.max_rate,
                f"duplicate rate {r.value:.2%} above the hard limit {cfg.max_rate:.0%}; " + r.message,
                r.details,
            )
        out.append(r)
    return out


@implements("agg_event_quality_daily", "unknown_event_type_share")
def unknown_event_types(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    limit = ctx.settings.engagement.unknown_event_types.max_share
    series = _quality(ctx, days, "unknown_type_share", back=False)
    out = []
    for d in days:
        if d not in series:
            out.append(
                DayResult(d, False, threshold=limit, message=f"agg_event_quality_daily has no row for {d}")
            )
            continue
        v = series[d]
        out.append(
            DayResult(
                d,
                v <= limit,
                value=v,
                threshold=limit,
                message=f"{v:.2%} of events on {d} have an event type outside the accepted list "
                f"(limit {limit:.1%})",
            )
        )
    return out


@implements("agg_event_quality_daily", "bot_share_vs_baseline")
def bot_share(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    cfg = ctx.settings.engagement.bot_share
    series = _quality(ctx, days, "bot_share")
    return score_days(
        ctx, series, days, floor=cfg.floor_pp, direction="spike", kind="ratio", label="bot share of events"
    )


@implements("agg_engagement_daily", "engagement_values_sane")
def engagement_values(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    cfg = ctx.settings.engagement.engagement_values
    rows = ctx.by_day(
        f"""
        select a.day, a.dau, a.wau, a.mau,
               (select count(*) from {relation("fct_events")} e
                 where e.event_date = a.day and e.user_id is null) as null_users,
               (select min(event_date) from {relation("fct_events")}) as first_event_day
        from {relation("agg_engagement_daily")} a where a.day >= ? and a.day < ?
        """,
        list(dwindow(days)),
    )
    out = []
    for d in days:
        r = rows.get(d)
        if r is None:
            out.append(DayResult(d, False, message=f"agg_engagement_daily has no row for {d}"))
            continue
        dau, wau, mau, nulls = (int(r[k] or 0) for k in ("dau", "wau", "mau", "null_users"))
        ratio = dau / mau if mau else None
        problems = []
        if dau <= 0:
            problems.append(f"DAU is {dau}")
        if not dau <= wau <= mau:
            problems.append(f"DAU {dau} <= WAU {wau} <= MAU {mau} violated")
        if nulls:
            problems.append(f"{nulls} counted events with a null user id")
        # DAU/MAU is only meaningful once the MAU window is fully built (launch, first backfill day)
        full_window = r["first_event_day"] is not None and to_date(r["first_event_day"]) <= d - timedelta(
            days=cfg.mau_days - 1
        )
        if ratio is not None and full_window and not cfg.dau_mau_min <= ratio <= cfg.dau_mau_max:
            problems.append(f"DAU/MAU {ratio:.3f} outside [{cfg.dau_mau_min}, {cfg.dau_mau_max}]")
        out.append(
            DayResult(
                d,
                not problems,
                value=ratio,
                threshold=cfg.dau_mau_max,
                message="; ".join(problems)
                if problems
                else f"DAU {dau}, WAU {wau}, MAU {mau}, DAU/MAU {ratio:.3f} sane on {d}",
                details={"dau": dau, "wau": wau, "mau": mau, "null_user_events": nulls},
            )
        )
    return out
