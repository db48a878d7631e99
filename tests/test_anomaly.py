"""The seasonal anomaly detector on synthetic weekly-seasonal series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from checks.anomaly import (
    AnomalyParams,
    anomaly_params,
    detect,
    detect_trailing_mean,
    fill_days,
    load_anomaly_params,
)
from metrics_core.config import ConfigError

START = date(2025, 1, 6)  # a Monday
WEEKLY = [1.00, 1.00, 0.98, 1.00, 1.03, 0.70, 0.62]  # strong weekend dip (Sat, Sun)


def seasonal(days: int = 140, level: float = 1000.0, noise: float = 0.03, seed: int = 7) -> dict[date, float]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(days):
        d = START + timedelta(days=i)
        out[d] = level * (1 + 0.001 * i) * WEEKLY[d.weekday()] * rng.lognormal(0, noise)
    return out


def last(series: dict[date, float], weekday: int) -> date:
    d = max(series)
    while d.weekday() != weekday:
        d -= timedelta(days=1)
    return d


@pytest.fixture(scope="module")
def params() -> AnomalyParams:
    return anomaly_params()


def test_config_loads_and_window_covers_baseline(params):
    assert params.lookback_days >= 7 * params.baseline_weeks + params.scale_days
    assert params.floor("profit") == pytest.approx(0.20)
    assert params.rule("dau").window_days == 14


def test_flags_a_30pct_drop_on_a_monday(params):
    s = seasonal()
    monday = last(s, 0)
    res = detect(s, monday, metric="volume", value=s[monday] * 0.7, params=params)
    assert res.flagged and res.status == "anomaly"
    assert res.deviation_pct == pytest.approx(-0.30, abs=0.06)
    assert res.z <= -params.z_threshold
    assert res.value < res.lower
    assert "same-weekday baseline" in res.reason


def test_ignores_normal_weekend_dip_that_the_trailing_mean_rule_flags(params):
    s = seasonal()
    sunday = last(s, 6)
    res = detect(s, sunday, metric="profit", params=params)
    assert not res.flagged and res.status == "ok"
    assert res.lower <= res.value <= res.upper
    # the runbook's literal 20% vs trailing 7-day mean reads every Sunday as a ~-30% anomaly
    naive = detect_trailing_mean(s, sunday, rule="profit", params=params)
    assert naive.flagged and naive.deviation_pct < -0.2


def test_clean_days_raise_no_alert(params):
    s = seasonal(days=200)
    days = [d for d in s if d >= START + timedelta(days=60)]
    flagged = [d for d in days if detect(s, d, metric="volume", params=params).flagged]
    assert flagged == []


def test_zero_rows_and_duplicate_load_are_flagged(params):
    s = seasonal()
    d = last(s, 2)
    assert detect(s, d, metric="volume", value=0, params=params).flagged
    assert detect(s, d, metric="volume", value=2 * s[d], params=params).flagged


def test_business_floor_gates_statistically_significant_small_moves(params):
    s = seasonal(noise=0.002)  # very smooth series: an 8% drop is a huge z
    d = last(s, 1)
    res = detect(s, d, floor=0.10, value=s[d] * 0.92, params=params)
    assert abs(res.z) >= params.z_threshold
    assert not res.flagged and "within the 10% floor" in res.reason
    assert detect(s, d, floor=0.05, value=s[d] * 0.92, params=params).flagged


def test_scored_day_is_never_in_its_own_baseline(params):
    s = seasonal()
    d = last(s, 3)
    ref = detect(s, d, metric="volume", params=params)
    for bogus in (0.0, 1e9):
        s2 = dict(s)
        s2[d] = bogus
        res = detect(s2, d, metric="volume", value=s[d], params=params)
        assert (res.baseline, res.scale, res.z) == (ref.baseline, ref.scale, ref.z)
    # days after the scored day are ignored too
    later = {k: v for k, v in s.items() if k <= d}
    assert detect(later, d, metric="volume", params=params).baseline == ref.baseline


def test_flagged_days_are_excluded_from_training(params):
    s = seasonal()
    d = last(s, 0)
    # a recurring outage: the same 30% drop on the previous three Mondays, plus an unrelated zero day
    incidents = [d - timedelta(days=7 * k) for k in (1, 2, 3)] + [d - timedelta(days=3)]
    dirty = dict(s)
    for k in incidents[:3]:
        dirty[k] *= 0.7
    dirty[incidents[3]] = 0.0
    drop = s[d] * 0.7
    contaminated = detect(dirty, d, metric="volume", value=drop, params=params)
    clean = detect(dirty, d, metric="volume", value=drop, flagged=set(incidents), params=params)
    assert not contaminated.flagged  # the model learnt the incident: the repeat drop looks normal
    assert clean.flagged and clean.n_excluded == 4 and contaminated.n_excluded == 0
    # excluding = as if the days were absent; older clean Mondays replace them in the baseline
    removed = {k: v for k, v in dirty.items() if k not in incidents}
    same = detect(removed, d, metric="volume", value=drop, params=params)
    assert (clean.baseline, clean.scale) == (same.baseline, same.scale)
    assert clean.baseline == pytest.approx(s[d], rel=0.08)


def test_insufficient_history_is_not_a_failure(params):
    s = seasonal(days=20)
    d = max(s)
    res = detect(s, d, metric="volume", value=0.0, params=params)
    assert res.status == "insufficient_history" and not res.flagged
    assert "min_history_days" in res.reason


def test_direction_drop_only_ignores_spikes(params):
    s = seasonal()
    d = last(s, 4)
    assert not detect(s, d, floor=0.1, direction="drop", value=s[d] * 2, params=params).flagged
    assert detect(s, d, floor=0.1, direction="spike", value=s[d] * 2, params=params).flagged
    assert detect(s, d, floor=0.1, direction="drop", value=s[d] * 0.5, params=params).flagged


def test_identity_transform_for_ratios_uses_absolute_floor(params):
    rng = np.random.default_rng(3)
    s = {START + timedelta(days=i): 0.30 + rng.normal(0, 0.002) for i in range(120)}
    d = max(s)
    res = detect(s, d, floor=0.02, transform="identity", value=0.27, params=params)
    assert res.flagged and res.deviation_abs == pytest.approx(-0.03, abs=0.003)
    assert not detect(s, d, floor=0.05, transform="identity", value=0.27, params=params).flagged


def test_trailing_mean_excludes_scored_and_flagged_days(params):
    s = {START + timedelta(days=i): 100.0 for i in range(30)}
    d = max(s)
    s[d - timedelta(days=1)] = 1000.0
    res = detect_trailing_mean(s, d, window_days=7, threshold=0.2, flagged={d - timedelta(days=1)},
                               value=100.0, params=params)
    assert res.baseline == 100.0 and res.n_excluded == 1 and not res.flagged
    assert detect_trailing_mean(s, d, window_days=7, threshold=0.2, value=150.0, params=params).flagged


def test_missing_scored_value_and_unknown_floor_are_clear_errors(params):
    s = seasonal(days=60)
    with pytest.raises(ValueError, match="pass value=0"):
        detect(s, max(s) + timedelta(days=1), metric="volume", params=params)
    with pytest.raises(ConfigError, match="anomaly.floors.nope"):
        detect(s, max(s), metric="nope", params=params)
    filled = fill_days({START: 5.0}, START, START + timedelta(days=2))
    assert list(filled.values()) == [5.0, 0.0, 0.0]


def test_missing_config_section_names_the_key(tmp_path):
    p = tmp_path / "checks.yaml"
    p.write_text("version: x\n")
    with pytest.raises(ConfigError, match="missing key 'anomaly'"):
        load_anomaly_params(p)
    p.write_text("anomaly: {model_version: x}\n")
    with pytest.raises(ConfigError, match=r"anomaly\.baseline_weeks"):
        load_anomaly_params(p)


def test_metadata_is_plain(params):
    s = seasonal()
    md = detect(s, max(s), metric="volume", params=params).metadata()
    assert md["day"] == max(s).isoformat() and "baseline" in md and "z" in md


def test_score_for_check_adapter(params):
    from checks.anomaly import score_for_check

    s = seasonal()
    d = last(s, 0)
    s[d] *= 0.6
    out = score_for_check(s, d, floor=0.2, direction="both", kind="count", params=params)
    assert out["anomalous"] and out["effect"] == pytest.approx(-0.4, abs=0.06) and out["z"] < -4
    assert score_for_check(seasonal(days=10), START + timedelta(days=9), floor=0.2, direction="both",
                           params=params) is None
