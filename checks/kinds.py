"""One implementation per check kind of the vocabulary (checks/vocabulary.py)."""

from __future__ import annotations

from datetime import date, timedelta

from checks.baseline import fill_series, history_start, score_days
from checks.core import DayResult, EvalContext, kind
from checks.registry import CheckDef
from checks.relations import relation
from checks.settings import Deviation, thresholds_at
from checks.sql import dwindow
from checks.vocabulary import DeviationParams, UniqueParams


@kind("deviation")
def deviation(ctx: EvalContext, days: list[date], check: CheckDef) -> list[DayResult]:
    p = DeviationParams(**check.params)
    cfg = thresholds_at(ctx.settings, p.thresholds, Deviation)
    start, end = history_start(ctx, days), max(days) + timedelta(days=1)
    rows = ctx.by_day(
        f"select {p.day_column} as day, {p.column} as v from {relation(check.asset)} "
        f"where {p.day_column} >= ? and {p.day_column} < ?",
        [start, end],
    )
    series = fill_series({d: r["v"] for d, r in rows.items()}, start, end, zero_fill=False)
    return score_days(
        ctx, series, days, floor=cfg.floor_pct, direction=cfg.direction, label=p.label,
        min_baseline=cfg.min_volume,
    )


@kind("unique")
def unique(ctx: EvalContext, days: list[date], check: CheckDef) -> list[DayResult]:
    p = UniqueParams(**check.params)
    rel, key, day = relation(check.asset), p.key, p.day_column
    if p.scope == "day":
        sql = (f"select {day} as day, count(*) - count(distinct {key}) as dup, count(*) as n "
               f"from {rel} where {day} >= ? and {day} < ? group by 1")
    else:
        sql = f"""
            with dup as (select {key} from {rel} group by 1 having count(*) > 1)
            select t.{day} as day, count(*) as n,
                   sum(case when dup.{key} is not null then 1 else 0 end) as dup
            from {rel} t left join dup on dup.{key} = t.{key}
            where t.{day} >= ? and t.{day} < ? group by 1
            """
    rows = ctx.by_day(sql, list(dwindow(days)))
    out = []
    for d in days:
        r = rows.get(d) or {}
        dup, n = int(r.get("dup") or 0), int(r.get("n") or 0)
        where = "the day" if p.scope == "day" else check.asset
        out.append(DayResult(d, dup == 0, value=dup, threshold=0,
                             message=f"{dup} rows whose {key} is repeated in {where}, among {n} on {d}"))
    return out
