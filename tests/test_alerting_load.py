"""Load: 1,000 failing check evaluations in one tick -> at most one incident per pipeline and kind."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_alert_tick.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_alert_tick", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_thousand_failing_evaluations_in_one_tick(tmp_path):
    r = _bench().run_bench(1000, tmp_path)
    assert r["evaluations"] == 1000 and r["occurrences_recorded"] == 1000  # every evaluation counted
    assert r["max_incidents_per_pipeline_and_kind"] == 1
    assert r["incidents"] == 10  # 5 pipelines x {check_error, check_warn}
    assert r["deliveries"] <= 10 + 5  # one first delivery per incident (+ owner FYI), not one per evaluation
    assert r["tick_seconds"] < 15, r  # measured ~1.5 s on the 2-core CI box; generous for a busy machine
    assert r["idle_tick_seconds"] < 2
