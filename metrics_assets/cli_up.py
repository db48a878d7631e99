"""`metrics up`: generate and materialize the last N days, print a summary, start the Dagster UI."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from metrics_assets.paths import PROJECT_ROOT

HISTORY_SOURCES = ("users", "account_closures", "experiment_assignments")


def dagster_home() -> Path:
    """The project-local Dagster instance (not committed), seeded with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home"))
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="generate + materialize the last N days, print a summary, start the UI")
    p.add_argument("--days", type=int, default=90, help="days to materialize, ending yesterday (default 90)")
    p.add_argument("--end", type=date.fromisoformat, default=None, help="last day (default: yesterday UTC)")
    p.add_argument("--headless", action="store_true", help="exit after the summary (CI, scripts)")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--log-level", default="WARNING", help="Dagster console log level for the runs")
    p.set_defaults(func=run)


def _range_tags(start: date, end_inclusive: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end_inclusive.isoformat(),
    }


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    dagster_home()
    import dagster as dg

    from metrics_assets.config import pipeline_config
    from metrics_assets.definitions import defs
    from metrics_assets.raw_assets import raw_key
    from metrics_assets.summary import print_summary

    end = args.end or (datetime.now(UTC).date() - timedelta(days=1))
    start = max(end - timedelta(days=args.days - 1), pipeline_config().partitions_start_date)
    history_start = pipeline_config().partitions_start_date
    instance = dg.DagsterInstance.get()
    quiet = {"loggers": {"console": {"config": {"log_level": args.log_level.upper()}}}}
    job = defs.resolve_job_def("all_pipelines")
    t0 = time.monotonic()
    if history_start < start:
        # Signup, churn and assignment history since launch: persons, cohorts and active accounts need it.
        print(f"[metrics up] loading user history {history_start} .. {start - timedelta(days=1)}")
        res = job.execute_in_process(
            instance=instance, tags=_range_tags(history_start, start - timedelta(days=1)), run_config=quiet,
            asset_selection=[raw_key(s) for s in HISTORY_SOURCES], raise_on_error=False,
        )
        if not res.success:
            print("[metrics up] history load failed; see the run in the Dagster UI", file=sys.stderr)
            return 1
    print(f"[metrics up] materializing all pipelines for {start} .. {end} as one run")
    res = job.execute_in_process(
        instance=instance, tags=_range_tags(start, end), run_config=quiet, raise_on_error=False
    )
    elapsed = time.monotonic() - t0
    print_summary(defs, instance, start, end, elapsed, run_ok=res.success)
    if args.headless:
        return 0 if res.success else 1
    print(f"[metrics up] Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)")
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(args.port),
           "-w", str(PROJECT_ROOT / "workspace.yaml")]
    return subprocess.call(cmd, cwd=PROJECT_ROOT)
