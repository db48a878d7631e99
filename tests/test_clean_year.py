"""A clean generated year raises no ERROR check and almost no WARN (issue 3, "What it must show").

World: the generator at SF 0.02 (CI-sized: ~350 orders, ~14k events, ~4 signups a day), users,
closures and experiment assignments since launch (2025-01-01), every source from a warm-up start
35 days before the year so the first scored days already have the 28 clean days the detector needs.
The year is 2025-11-01 .. 2026-10-31: ten months after launch, past the zero-user ramp-up of the
synthetic world. dbt builds the whole range in one `dbt build` (tests included); then every
catalogue check is evaluated for all 365 days with the CI runner's engine (`run_all_checks`).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from checks.core import run_all_checks
from checks.registry import Severity
from metrics_assets.generator import generate_range, write_partitions
from metrics_core.dbt_vars import dbt_vars_json
from metrics_core.paths import DBT_PROJECT_DIR, PROJECT_ROOT
from metrics_core.rules import world
from resources.warehouse import Warehouse

SF = 0.02
YEAR_START = date(2025, 11, 1)
YEAR_END = date(2026, 10, 31)  # inclusive: 365 days
WARMUP_DAYS = 35
HISTORY_SOURCES = ("users", "account_closures", "experiment_assignments")
MAX_WARN_RATE = 0.003


def _dbt_build(db: Path, start: date, end_exclusive: date, work: Path) -> subprocess.CompletedProcess:
    dbt = PROJECT_ROOT / ".venv" / "bin" / "dbt"
    env = {
        **os.environ,
        "METRICS_DUCKDB_PATH": str(db),
        "METRICS_WAREHOUSE": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.run(
        [
            str(dbt if dbt.exists() else "dbt"),
            "build",
            "--vars",
            dbt_vars_json(start, end_exclusive),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "-q",
        ],  # fmt: skip
        env=env,
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def clean_year(tmp_path_factory):
    work = tmp_path_factory.mktemp("clean_year")
    db = work / "warehouse.duckdb"
    w = world()
    build_start = YEAR_START - timedelta(days=WARMUP_DAYS)
    end = YEAR_END + timedelta(days=1)
    timings = {}
    t = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        for source in HISTORY_SOURCES:
            write_partitions(
                con,
                source,
                w.launch_date,
                build_start,
                scale_factor=SF,
                seed=w.seed,
                launch_date=w.launch_date,
            )
    generate_range(str(db), build_start, end, SF, w.seed, w.launch_date, quiet=True)
    timings["generate"] = time.perf_counter() - t
    t = time.perf_counter()
    res = _dbt_build(db, build_start, end, work)
    timings["dbt build"] = time.perf_counter() - t
    assert res.returncode == 0, (
        f"dbt build failed on the clean year:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}"
    )
    t = time.perf_counter()
    outcomes = run_all_checks(Warehouse(backend="duckdb", duckdb_path=str(db)), YEAR_START, end)
    timings["checks"] = time.perf_counter() - t
    return outcomes, timings


def test_clean_year_has_no_error_and_few_warn_outcomes(clean_year):
    outcomes, timings = clean_year
    days = (YEAR_END - YEAR_START).days + 1
    assert days == 365
    assert {o.day for o in outcomes} == {YEAR_START + timedelta(days=i) for i in range(days)}
    evaluated = [o for o in outcomes if o.status != "skip"]
    skipped = len(outcomes) - len(evaluated)
    error_fails = [o for o in outcomes if o.failed and o.severity == Severity.ERROR.value]
    warn_fails = [o for o in outcomes if o.failed and o.severity == Severity.WARN.value]
    rate = len(warn_fails) / len(evaluated)
    by_check = Counter(f"{o.asset}:{o.check} [{o.severity}]" for o in error_fails + warn_fails)
    skipped_by_check = Counter(f"{o.asset}:{o.check}" for o in outcomes if o.status == "skip")
    print(
        f"\nClean year {YEAR_START} .. {YEAR_END} at SF {SF} ({len(outcomes) // days} checks x {days} days):"
        f"\n  check-days {len(outcomes)}, evaluated {len(evaluated)}, skipped {skipped}"
        f"\n  ERROR failures {len(error_fails)}, WARN failures {len(warn_fails)}"
        f" = {rate:.3%} of evaluated check-days (limit {MAX_WARN_RATE:.1%})"
        f"\n  failures by check: {dict(by_check) or '-'}"
        f"\n  skipped by check: {dict(skipped_by_check.most_common(8)) or '-'}"
        f"\n  seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
    )
    per_check: dict[str, list[int]] = {}
    for o in outcomes:
        n = per_check.setdefault(f"{o.asset}:{o.check} [{o.severity}]", [0, 0, 0])
        n[0] += o.status != "skip"
        n[1] += o.failed
        n[2] += o.status == "skip"
    print("  per check (evaluated / failed / skipped, failure rate of evaluated days):")
    for key, (ev, failed, skip) in sorted(per_check.items()):
        print(f"    {key}: {ev} / {failed} / {skip}, {failed / ev if ev else 0:.2%}")
    for o in (error_fails + warn_fails)[:20]:
        print(f"  {o.day} {o.asset}:{o.check} [{o.severity}] {o.status}: {o.message[:160]}")
    assert not error_fails, f"{len(error_fails)} ERROR check-days failed on clean data: {dict(by_check)}"
    assert rate <= MAX_WARN_RATE, f"WARN rate {rate:.3%} above {MAX_WARN_RATE:.1%}: {dict(by_check)}"
