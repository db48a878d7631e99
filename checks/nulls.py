"""Critical-field null rates: one `null_rate_vs_baseline` check per raw source listed in the catalogue.

Why: a share of rows arriving with a NULL user id or amount changes published numbers (DAU,
sessions, revenue) without breaking any type, key or volume rule. For every field named in
config/checks.yaml `critical_fields.fields`, a day fails when its null share is above the field's
bound, or (for fields that are legitimately null sometimes, such as anonymous events) when it is
above its same-weekday baseline by more than `floor_pp` and outside the detector's band. App
events are measured on the events the metric would count otherwise (deduplicated, not bots).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from checks.baseline import history_start, score_groups
from checks.core import DayResult, EvalContext, implements
from checks.engagement import metric_event_counts
from checks.registry import catalogue
from checks.sql import ts
from metrics_core.config import ConfigError
from metrics_core.sources import SOURCES

CHECK_NAME = "null_rate_vs_baseline"


def _counts(
    ctx: EvalContext, source: str, cols: list[str], start: date, end: date
) -> dict[date, dict[str, Any]]:
    """Per day: rows `n` of the population and `null_<col>` for each column."""
    if source == "app_events":
        rows = metric_event_counts(ctx, start, end, null_columns=tuple(cols))
        return {d: {**r, "n": int(r["deduped"] or 0) - int(r["bots"] or 0)} for d, r in rows.items()}
    src = SOURCES[source]
    pc = src.partition_column
    nulls = ", ".join(f"count(*) - count({c}) as null_{c}" for c in cols)
    return ctx.by_day(
        f"select cast({pc} as date) as day, count(*) as n, {nulls} from {src.table} "
        f"where {pc} >= ? and {pc} < ? group by 1",
        [ts(start), ts(end)],
    )


def _make(source: str):
    def _check(ctx: EvalContext, days: list[date]) -> list[DayResult]:
        cfg = ctx.settings.critical_fields
        bounds = cfg.fields.get(source)
        if not bounds:
            raise ConfigError(
                f"config/checks.yaml: critical_fields.fields.{source} is not defined, but "
                f"checks/failure_modes.yaml lists raw/{source}:{CHECK_NAME}"
            )
        cols = sorted(bounds)
        baselined = [c for c in cols if bounds[c] > 0]  # never-null fields need no baseline
        end = max(days) + timedelta(days=1)
        start = history_start(ctx, days) if baselined else min(days)
        rows = _counts(ctx, source, cols, start, end)
        share = {
            d: {c: int(r[f"null_{c}"] or 0) / int(r["n"]) for c in cols}
            for d, r in rows.items()
            if int(r["n"] or 0)
        }
        scored = {}
        if baselined:
            groups = {
                c: {d: v[c] for d, v in share.items() if int(rows[d]["n"]) >= cfg.min_rows} for c in baselined
            }
            scored = {
                r.day: r
                for r in score_groups(
                    ctx,
                    groups,
                    days,
                    floor=cfg.floor_pp,
                    direction="spike",
                    kind="ratio",
                    label=f"null share of raw.{source}.",
                )
            }
        out = []
        for d in days:
            s, n = share.get(d), int((rows.get(d) or {}).get("n") or 0)
            if not s:
                out.append(DayResult(d, True, value=0, threshold=0, message=f"raw.{source}: no rows on {d}"))
                continue
            breaches = [c for c in cols if s[c] > bounds[c]]
            worst = max(cols, key=lambda c: s[c] - bounds[c])
            counts = {c: int(rows[d][f"null_{c}"] or 0) for c in cols}
            details: dict[str, Any] = {"rows": n, "null_counts": counts, "null_shares": s}
            parts = [
                f"raw.{source}.{c}: {counts[c]} NULL of {n} ({s[c]:.2%}; bound {bounds[c]:.0%})"
                for c in breaches
            ]
            base = scored.get(d)
            if base is not None:
                details["baseline"] = base.details
                if base.passed is False:
                    parts.append(base.message)
            failed = bool(breaches) or (base is not None and base.passed is False)
            if failed:
                message = f"NULLs in critical fields of raw.{source} on {d}: " + "; ".join(parts)
            else:
                message = (
                    f"raw.{source} {d}: null shares within bounds ("
                    + ", ".join(f"{c} {s[c]:.2%}" for c in cols)
                    + f" of {n} rows)"
                    + (f"; baseline: {base.message}" if base is not None else "")
                )
            out.append(
                DayResult(
                    d,
                    not failed,
                    value=s[worst],
                    baseline=base.baseline if base is not None else None,
                    threshold=bounds[worst],
                    message=message,
                    details=details,
                )
            )
        return out

    _check.__name__ = f"null_rate_{source}"
    return _check


for _c in catalogue().checks:
    if _c.name == CHECK_NAME:
        implements(_c.asset, _c.name)(_make(_c.asset.split("/", 1)[1]))
