"""Baseline/deviation checks: score each day of a daily series with the anomaly detector.

The runbook's percentage rules (20/25/30%) are business floors on top of the seasonal detector
(checks/anomaly.py): a day fails only when it is both statistically unusual against the same
weekday and beyond the floor. Days of the window flagged earlier in the same evaluation are kept
out of the training of later days, so a multi-day incident does not teach the baseline.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from scipy.stats import binom

from checks import anomaly
from checks.core import DayResult, EvalContext


def history_start(ctx: EvalContext, days: list[date]) -> date:
    """First day of history the detector can use for the earliest scored day."""
    del ctx
    return min(days) - timedelta(days=anomaly.anomaly_params().lookback_days)


def fill_series(
    values: dict[date, float | None], start: date, end: date, *, zero_fill: bool
) -> dict[date, float]:
    """Daily series over [start, end); with zero_fill, missing days are 0 after the first observed
    day (a zero-row day is data, not absence) and unknown before it (pre-launch)."""
    out: dict[date, float] = {}
    seen = False
    d = start
    while d < end:
        v = values.get(d)
        if v is not None:
            seen = True
            out[d] = float(v)
        elif zero_fill and seen:
            out[d] = 0.0
        d += timedelta(days=1)
    return out


def score_days(
    ctx: EvalContext,
    series: dict[date, float],
    days: list[date],
    *,
    floor: float,
    direction: str,
    kind: str = "count",
    label: str = "value",
    min_baseline: float = 0.0,
) -> list[DayResult]:
    """One DayResult per scored day; kind "count" scores relative change, "ratio" absolute points.
    Below `min_baseline` expected volume a count is too small for a daily decision: skipped."""
    del ctx
    flagged: set[date] = set()
    out: list[DayResult] = []
    for d in sorted(days):
        if d not in series:
            out.append(DayResult(d, None, threshold=floor, message=f"no {label} for {d}"))
            continue
        score = anomaly.score_for_check(
            series, d, floor=floor, direction=direction, kind=kind, flagged=frozenset(flagged)
        )
        if score is None:
            out.append(
                DayResult(
                    d,
                    None,
                    value=series[d],
                    threshold=floor,
                    message=f"not enough clean history to score {label} on {d}",
                )
            )
            continue
        expected = score.get("baseline")
        if expected is not None and abs(expected) < min_baseline:
            out.append(
                DayResult(
                    d,
                    None,
                    value=series[d],
                    baseline=expected,
                    threshold=floor,
                    message=f"{label}: expected {expected:.3g} is below the minimum volume "
                    f"{min_baseline:g} for a daily decision",
                )
            )
            continue
        if score["anomalous"]:
            flagged.add(d)
        details = {
            k: v for k, v in score.items() if k not in ("value", "baseline", "anomalous", "reason", "day")
        }
        out.append(
            DayResult(
                d,
                not score["anomalous"],
                value=series[d],
                baseline=score.get("baseline"),
                threshold=floor,
                message=f"{label}: {score.get('reason', '')}",
                details=details,
            )
        )
    return out


def score_groups(
    ctx: EvalContext,
    groups: dict[str, dict[date, float]],
    days: list[date],
    *,
    floor: float,
    direction: str,
    label: str,
    kind: str = "count",
    min_baseline: float = 0.0,
) -> list[DayResult]:
    """Score several series of the same kind (one per currency, cost type, column) and give one
    result per day: failed if any group failed, not evaluable if none could be scored, and the
    value/baseline of the group furthest from its baseline (its name in details["group"])."""
    scored = {
        g: {
            r.day: r
            for r in score_days(
                ctx,
                series,
                days,
                floor=floor,
                direction=direction,
                kind=kind,
                label=f"{label} {g}",
                min_baseline=min_baseline,
            )
        }
        for g, series in sorted(groups.items())
    }
    out: list[DayResult] = []
    for d in sorted(days):
        results = {g: s[d] for g, s in scored.items() if d in s}
        judged = {g: r for g, r in results.items() if r.passed is not None}
        if not judged:
            reasons = "; ".join(r.message for r in results.values()) or f"no {label} series"
            out.append(DayResult(d, None, threshold=floor, message=reasons))
            continue
        failed = {g: r for g, r in judged.items() if r.passed is False}

        def distance(r: DayResult) -> float:
            if r.value is None or r.baseline is None:
                return 0.0
            if kind == "count":
                return abs(r.value / r.baseline - 1) if r.baseline else float("inf")
            return abs(r.value - r.baseline)

        worst = max(failed or judged, key=lambda g: distance((failed or judged)[g]))
        w = judged[worst]
        shown = [r.message for r in (failed or {worst: w}).values()]
        out.append(
            DayResult(
                d,
                not failed,
                value=w.value,
                baseline=w.baseline,
                threshold=floor,
                message="; ".join(shown)
                + (f" ({len(judged)} of {len(results)} {label} series judged)" if not failed else ""),
                details={
                    "group": worst,
                    "failed_groups": sorted(failed),
                    "judged_groups": sorted(judged),
                    **{f"{g}_value": r.value for g, r in judged.items()},
                    **{f"{g}_baseline": r.baseline for g, r in judged.items()},
                },
            )
        )
    return out


def pooled_share_test(
    rows: dict[date, dict[str, Any]], days: list[date], cfg: Any, *, what: str, of: str
) -> list[DayResult]:
    """A day's share k/n of small daily counts (signups) against the pooled rate of the previous
    `cfg.baseline_days` days: one-sided binomial test (p below `cfg.p_value`) plus a business
    floor in points (`cfg.floor_pp`). `rows` maps day -> {"n": ..., "k": ...}."""
    out = []
    for d in days:
        r = rows.get(d)
        earlier = (d - timedelta(days=i) for i in range(1, cfg.baseline_days + 1))
        prior = [rows[p] for p in earlier if p in rows]
        n0, k0 = sum(int(x["n"] or 0) for x in prior), sum(int(x["k"] or 0) for x in prior)
        if r is None or not int(r["n"] or 0) or n0 < cfg.baseline_days:
            out.append(DayResult(d, None, threshold=cfg.floor_pp, message=f"too few {of} to judge {d}"))
            continue
        n, k = int(r["n"]), int(r["k"] or 0)
        p0 = (k0 + 0.5) / (n0 + 1)  # smoothed: a clean history of zero is not a zero rate
        share = k / n
        p_value = float(binom.sf(k - 1, n, p0)) if k else 1.0
        failed = share - p0 >= cfg.floor_pp and p_value < cfg.p_value
        out.append(
            DayResult(
                d,
                not failed,
                value=share,
                baseline=p0,
                threshold=cfg.floor_pp,
                message=(
                    f"{k} of {n} {of} on {d} {what} ({share:.1%}) vs {p0:.1%} over the previous "
                    f"{cfg.baseline_days} days; binomial p={p_value:.2g} (alert below {cfg.p_value:g} and "
                    f"+{cfg.floor_pp:.0%} points)"
                ),
                details={"p_value": p_value, f"baseline_{of}": n0, "baseline_count": k0},
            )
        )
    return out
