"""Seasonality-aware anomaly detector for daily volume and metric series (one number per day).

Why not a z-score against a trailing mean: weekly-seasonal series (orders, DAU, revenue) read
-25% every weekend against a 7-day mean, and a point inside its own sample can never reach a high
|z| (Samuelson's bound). See shared/notes/data-quality.md §3, §5.4, §5.7.

`detect` (the default, robust seasonal):
  1. transform: `log` (signed log1p; multiplicative seasonality becomes additive) or `identity`
     (ratios, deviations in absolute units such as percentage points);
  2. baseline: median of the last `baseline_weeks` clean same-weekday values (looking back at most
     `baseline_max_weeks`, so excluded incident days are replaced by older clean weeks);
  3. level: median residual of the previous `level_days` days (follows trend and level shifts);
  4. scale: 1.4826 x MAD of the one-step residuals over the previous `scale_days`, never below
     `scale_floor` (`scale_floor_identity` for the identity transform);
  5. the scored day is never part of its own baseline, level or scale, and every day in `flagged`
     (already-alerted or declared incident days) is left out of all three;
  6. decision rule: a day is flagged only if it lies outside BOTH the statistical band
     (|z| >= z_threshold) AND the business floor (|deviation| > floor, the runbook's 20/25/30%),
     in the configured direction. Equivalently the value lies outside [lower, upper], the outer
     envelope of the two bands, which the result reports.
  7. with too little clean history the result is `insufficient_history` (not flagged, not a failure).

`detect_trailing_mean` is the runbook's literal wording (deviation from the trailing 7/14-day mean
above a percentage); it is kept for comparison and reporting, and is known to be noisy on
weekly-seasonal series.

Parameters come from the `anomaly:` section of config/checks.yaml (`anomaly_params()`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metrics_core.config import ConfigError, _format_errors, read_yaml
from metrics_core.paths import config_dir

Direction = Literal["both", "drop", "spike"]
Transform = Literal["log", "identity"]
MAD_TO_SIGMA = 1.4826  # makes the MAD a consistent estimator of the normal standard deviation


class RunbookRule(BaseModel):
    """A runbook deviation rule: |value / trailing mean - 1| above `threshold`."""

    model_config = ConfigDict(extra="forbid")
    window_days: int = Field(ge=1, le=90)
    threshold: float = Field(gt=0)


class AnomalyParams(BaseModel):
    """The detector's knobs (config/checks.yaml `anomaly:`); every field is required there."""

    model_config = ConfigDict(extra="forbid")
    model_version: str
    baseline_weeks: int = Field(ge=1, le=12)
    baseline_max_weeks: int = Field(ge=1, le=26)
    level_days: int = Field(ge=0, le=28)
    scale_days: int = Field(ge=7, le=365)
    scale_floor: float = Field(gt=0)
    scale_floor_identity: float = Field(gt=0)
    z_threshold: float = Field(gt=0)
    min_history_days: int = Field(ge=1)
    min_baseline_points: int = Field(ge=1)
    min_scale_points: int = Field(ge=3)
    floors: dict[str, float]  # named business floors (share, e.g. 0.20 = 20%)
    runbook_rules: dict[str, RunbookRule]
    trailing_min_points_share: float = Field(gt=0, le=1)

    def floor(self, name: str) -> float:
        try:
            return self.floors[name]
        except KeyError:
            raise ConfigError(f"config/checks.yaml: anomaly.floors.{name} is not defined "
                              f"(known: {sorted(self.floors)})") from None

    def rule(self, name: str) -> RunbookRule:
        try:
            return self.runbook_rules[name]
        except KeyError:
            raise ConfigError(f"config/checks.yaml: anomaly.runbook_rules.{name} is not defined "
                              f"(known: {sorted(self.runbook_rules)})") from None

    @property
    def lookback_days(self) -> int:
        """Days of history before the scored day that the detector can use (for the caller's SQL)."""
        return self.scale_days + self.level_days + 7 * max(self.baseline_weeks, self.baseline_max_weeks)


def load_anomaly_params(path: Path | None = None) -> AnomalyParams:
    path = path or config_dir() / "checks.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or "anomaly" not in data:
        raise ConfigError(f"{path}: missing key 'anomaly'")
    try:
        return AnomalyParams.model_validate(data["anomaly"])
    except ValidationError as err:
        raise ConfigError(_format_errors(path, err).replace("  - ", "  - anomaly.")) from None


@cache
def anomaly_params() -> AnomalyParams:
    return load_anomaly_params()


@dataclass(frozen=True)
class AnomalyResult:
    """One scored day. `lower`/`upper` is the band outside which the day is flagged."""

    day: date
    method: str  # "seasonal" | "trailing_mean"
    status: str  # "ok" | "anomaly" | "insufficient_history"
    flagged: bool
    value: float
    baseline: float | None  # expected value for the day, in the series' units
    lower: float | None
    upper: float | None
    deviation_pct: float | None  # (value - baseline) / |baseline|
    deviation_abs: float | None  # value - baseline
    threshold: float  # business floor (share for log transform, absolute for identity)
    z: float | None = None
    z_threshold: float | None = None
    scale: float | None = None  # robust spread, in transformed units
    n_train: int = 0  # clean history days used
    n_excluded: int = 0  # flagged days left out of training
    direction: str = "both"
    reason: str = ""
    model_version: str = ""

    def metadata(self) -> dict[str, Any]:
        """Plain values for Dagster check metadata / the check-history table (None dropped)."""
        out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in out.items() if v is not None}


# ------------------------------------------------------------------------------------- helpers


def fill_days(rows: Iterable[tuple[date, float]] | Mapping[date, float], start: date, end: date,
              fill: float = 0.0) -> dict[date, float]:
    """Series for every day in [start, end], `fill` where the query returned no row (an empty partition)."""
    got = dict(rows.items() if isinstance(rows, Mapping) else rows)
    return {start + timedelta(d): float(got.get(start + timedelta(d), fill))
            for d in range((end - start).days + 1)}


def _fwd(x: np.ndarray | float, transform: Transform) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x)) if transform == "log" else x


def _inv(y: float, transform: Transform) -> float:
    return float(np.sign(y) * np.expm1(abs(y))) if transform == "log" else float(y)


def _nanmedian_rows(m: np.ndarray, min_count: int) -> np.ndarray:
    """Row-wise median ignoring NaN; NaN where fewer than `min_count` values."""
    counts = np.sum(~np.isnan(m), axis=1)
    out = np.full(m.shape[0], np.nan)
    ok = counts >= min_count
    if ok.any():
        out[ok] = np.nanmedian(m[ok], axis=1)
    return out


def _seasonal_median(y: np.ndarray, weeks: int, max_weeks: int, min_points: int) -> np.ndarray:
    """m[s] = median of the `weeks` most recent non-NaN values among y[s-7], y[s-14], ... y[s-7*max_weeks]."""
    n = len(y)
    width = max(weeks, max_weeks)
    lagged = np.full((n, width), np.nan)
    for j in range(1, width + 1):
        lagged[7 * j:, j - 1] = y[: n - 7 * j]
    rank = np.cumsum(~np.isnan(lagged), axis=1)  # 1 = most recent clean value
    lagged[rank > weeks] = np.nan
    return _nanmedian_rows(lagged, min_points)


def _trailing_median(r: np.ndarray, days: int, min_points: int) -> np.ndarray:
    """out[s] = median of r[s-days .. s-1] (strictly before s); 0 where too few (no level correction)."""
    n = len(r)
    if days == 0:
        return np.zeros(n)
    lagged = np.full((n, days), np.nan)
    for j in range(1, days + 1):
        lagged[j:, j - 1] = r[: n - j]
    out = _nanmedian_rows(lagged, min_points)
    return np.where(np.isnan(out), 0.0, out)


def _check_floor(floor: float | None, params: AnomalyParams, metric: str | None) -> float:
    if floor is None:
        if metric is None:
            raise ValueError("pass floor= (e.g. 0.20) or metric= naming anomaly.floors in config/checks.yaml")
        floor = params.floor(metric)
    if floor < 0:
        raise ValueError(f"business floor must be >= 0, got {floor}")
    return float(floor)


def _value_for(series: Mapping[date, float], day: date, value: float | None) -> float:
    if value is not None:
        return float(value)
    if day not in series:
        raise ValueError(f"no value for {day.isoformat()} in the series; "
                         "pass value=0 (or use fill_days) when the partition is empty")
    return float(series[day])


def _breaches(dev: float, limit: float, direction: Direction, strict: bool) -> bool:
    hit_low = dev < -limit if strict else dev <= -limit
    hit_high = dev > limit if strict else dev >= limit
    return {"both": hit_low or hit_high, "drop": hit_low, "spike": hit_high}[direction]


# -------------------------------------------------------------------------------- the detector


def detect(series: Mapping[date, float], day: date, *, floor: float | None = None, metric: str | None = None,
           direction: Direction = "both", transform: Transform = "log",
           flagged: Collection[date] = frozenset(), value: float | None = None,
           params: AnomalyParams | None = None) -> AnomalyResult:
    """Score `day` against its same-weekday robust baseline (see the module docstring for the rule).

    series: day -> value (history may include days after `day`; they are ignored).
    floor: business floor, e.g. 0.20; or `metric` naming one in anomaly.floors.
    flagged: days kept out of training (earlier alerts, declared incidents).
    value: the scored day's value when it is not in `series` (e.g. 0 for an empty partition).
    """
    p = params or anomaly_params()
    floor = _check_floor(floor, p, metric)
    v = _value_for(series, day, value)
    n = p.lookback_days + 1  # window: n-1 history days, then the scored day at index n-1
    start = day - timedelta(days=n - 1)
    flagged_set = set(flagged)
    raw = np.full(n, np.nan)
    n_excluded = 0
    for i in range(n - 1):
        d = start + timedelta(days=i)
        if d in series and series[d] is not None and not math.isnan(float(series[d])):
            if d in flagged_set:
                n_excluded += 1
            else:
                raw[i] = float(series[d])
    y = _fwd(raw, transform)  # y[n-1] stays NaN: the scored day never trains anything
    n_train = int(np.sum(~np.isnan(y)))

    m = _seasonal_median(y, p.baseline_weeks, p.baseline_max_weeks, p.min_baseline_points)
    r = y - m
    level = _trailing_median(r, p.level_days, max(1, (p.level_days + 1) // 2))
    c = r - level  # one-step residuals of the same procedure
    hist_c = c[max(0, n - 1 - p.scale_days): n - 1]
    hist_c = hist_c[~np.isnan(hist_c)]
    t = n - 1

    base = dict(day=day, method="seasonal", value=v, threshold=floor, z_threshold=p.z_threshold,
                n_train=n_train, n_excluded=n_excluded, direction=direction, model_version=p.model_version)
    missing = []
    if n_train < p.min_history_days:
        missing.append(f"{n_train} clean history days < min_history_days {p.min_history_days}")
    if np.isnan(m[t]):
        missing.append(f"fewer than {p.min_baseline_points} clean same-weekday days in the last "
                       f"{p.baseline_max_weeks} weeks")
    if len(hist_c) < p.min_scale_points:
        missing.append(f"{len(hist_c)} residuals < min_scale_points {p.min_scale_points}")
    if missing:
        return AnomalyResult(status="insufficient_history", flagged=False, baseline=None, lower=None,
                             upper=None, deviation_pct=None, deviation_abs=None,
                             reason="insufficient history: " + "; ".join(missing), **base)

    mad = float(np.median(np.abs(hist_c - np.median(hist_c))))
    scale = max(MAD_TO_SIGMA * mad, p.scale_floor if transform == "log" else p.scale_floor_identity)
    e = float(m[t] + level[t])
    expected = _inv(e, transform)
    z = float((_fwd(v, transform) - e) / scale)
    dev_abs = v - expected
    dev_pct = dev_abs / abs(expected) if expected != 0 else (math.inf if dev_abs else 0.0)
    dev_for_floor = dev_pct if transform == "log" else dev_abs
    stat_hit = _breaches(z, p.z_threshold, direction, strict=False)
    floor_hit = _breaches(dev_for_floor, floor, direction, strict=True)
    flagged_now = stat_hit and floor_hit

    stat_lo, stat_hi = _inv(e - p.z_threshold * scale, transform), _inv(e + p.z_threshold * scale, transform)
    if transform == "log":
        fl_lo, fl_hi = expected - floor * abs(expected), expected + floor * abs(expected)
    else:
        fl_lo, fl_hi = expected - floor, expected + floor
    lower, upper = min(stat_lo, fl_lo), max(stat_hi, fl_hi)
    unit = "%" if transform == "log" else ""
    shown = f"{dev_pct:+.1%}" if transform == "log" else f"{dev_abs:+.4g}"
    floor_txt = f"{floor:.0%}" if unit else f"{floor:.4g}"
    if flagged_now:
        reason = (f"{v:.6g} vs same-weekday baseline {expected:.6g}: {shown}, |z|={abs(z):.1f} >= "
                  f"{p.z_threshold:g} and beyond the {floor_txt} floor ({direction})")
    else:
        why = []
        if not stat_hit:
            why.append(f"|z|={abs(z):.1f} inside the statistical band ({p.z_threshold:g})")
        if not floor_hit:
            why.append(f"{shown} within the {floor_txt} floor")
        reason = f"{v:.6g} vs baseline {expected:.6g}: " + " and ".join(why) + f" ({direction})"
    return AnomalyResult(status="anomaly" if flagged_now else "ok", flagged=flagged_now, baseline=expected,
                         lower=lower, upper=upper, deviation_pct=dev_pct, deviation_abs=dev_abs,
                         z=z, scale=scale, reason=reason, **base)


def detect_trailing_mean(series: Mapping[date, float], day: date, *, window_days: int | None = None,
                         threshold: float | None = None, rule: str | None = None,
                         direction: Direction = "both", flagged: Collection[date] = frozenset(),
                         value: float | None = None, params: AnomalyParams | None = None) -> AnomalyResult:
    """The runbook's literal rule: flag when |value / mean(previous window_days) - 1| > threshold.

    `rule` names anomaly.runbook_rules (profit: 7 days/20%, growth: 7/25%, dau: 14/30%).
    The scored day and flagged days are never in the mean.
    """
    p = params or anomaly_params()
    if rule is not None:
        r = p.rule(rule)
        window_days = window_days or r.window_days
        threshold = threshold if threshold is not None else r.threshold
    if window_days is None or threshold is None:
        raise ValueError("pass window_days= and threshold=, or rule= naming anomaly.runbook_rules")
    v = _value_for(series, day, value)
    flagged_set = set(flagged)
    hist, n_excluded = [], 0
    for i in range(1, window_days + 1):
        d = day - timedelta(days=i)
        if d in series and series[d] is not None and not math.isnan(float(series[d])):
            if d in flagged_set:
                n_excluded += 1
            else:
                hist.append(float(series[d]))
    need = math.ceil(p.trailing_min_points_share * window_days)
    base = dict(day=day, method="trailing_mean", value=v, threshold=threshold, n_train=len(hist),
                n_excluded=n_excluded, direction=direction, model_version=p.model_version)
    if len(hist) < need:
        return AnomalyResult(status="insufficient_history", flagged=False, baseline=None, lower=None,
                             upper=None, deviation_pct=None, deviation_abs=None,
                             reason=f"insufficient history: {len(hist)} of the last {window_days} days "
                                    f"present and clean, need {need}", **base)
    mean = float(np.mean(hist))
    dev_abs = v - mean
    dev_pct = dev_abs / abs(mean) if mean != 0 else (math.inf if dev_abs else 0.0)
    hit = _breaches(dev_pct, threshold, direction, strict=True)
    reason = (f"{v:.6g} vs trailing {window_days}-day mean {mean:.6g}: {dev_pct:+.1%} "
              f"{'beyond' if hit else 'within'} the {threshold:.0%} threshold ({direction})")
    return AnomalyResult(status="anomaly" if hit else "ok", flagged=hit, baseline=mean,
                         lower=mean - threshold * abs(mean), upper=mean + threshold * abs(mean),
                         deviation_pct=dev_pct, deviation_abs=dev_abs, reason=reason, **base)


def score_for_check(series: Mapping[date, float], day: date, *, floor: float, direction: Direction,
                    kind: str = "count", flagged: Collection[date] = frozenset(), settings: Any = None,
                    params: AnomalyParams | None = None) -> dict[str, Any] | None:
    """Adapter for checks/baseline.py: kind "count" -> log transform, "ratio" -> identity (absolute floor).

    Returns None when the history is insufficient, else the result as a dict with `anomalous` and
    `effect` (relative for counts, absolute for ratios). `settings` is accepted and ignored: the
    detector's parameters are the `anomaly:` section of config/checks.yaml.
    """
    del settings
    transform: Transform = "log" if kind == "count" else "identity"
    res = detect(series, day, floor=floor, direction=direction, transform=transform, flagged=flagged,
                 params=params)
    if res.status == "insufficient_history":
        return None
    out = res.metadata()
    out.update(anomalous=res.flagged,
               effect=res.deviation_pct if transform == "log" else res.deviation_abs)
    return out
