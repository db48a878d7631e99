"""Baseline/deviation checks: score each day of a daily series with the anomaly detector.

The runbook's percentage rules (20/25/30%) are business floors on top of the seasonal detector
(checks/anomaly.py): a day fails only when it is both statistically unusual against the same
weekday and beyond the floor. Days of the window flagged earlier in the same evaluation are kept
out of the training of later days, so a multi-day incident does not teach the baseline.
"""

from __future__ import annotations

from datetime import date, timedelta

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
