"""`metrics up`: start Dagster (webserver + daemon), submit the last N days as one run, print a summary.

The runs go through the instance's run queue like any UI run, so they show on the Runs and Job
pages, queue behind other warehouse runs, and are watched by run monitoring and the sensors."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from metrics_core.paths import PROJECT_ROOT

HISTORY_SOURCES = ("users", "account_closures", "experiment_assignments")


def dagster_home() -> Path:
    """The project-local Dagster instance (not committed), seeded with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home"))
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=90, help="days to materialize, ending yesterday (default 90)")
    p.add_argument("--end", type=date.fromisoformat, default=None, help="last day (default: yesterday UTC)")
    p.add_argument("--headless", action="store_true", help="exit after the summary (CI, scripts)")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--timeout", type=float, default=7200, help="seconds to wait for each run (default 2 h)")
    p.add_argument("--start-timeout", type=float, default=180, help="seconds to wait for the webserver")
    p.set_defaults(func=run)


def _range_tags(start: date, end_inclusive: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end_inclusive.isoformat(),
    }


def _start_dagster_dev(port: int, home: Path) -> subprocess.Popen:
    """`dagster dev` (webserver + daemon: run queue, schedules, sensors, run monitoring) in its own
    process group, its output in DAGSTER_HOME/dagster-dev.log."""
    log = open(home / "dagster-dev.log", "ab")  # noqa: SIM115 - lives as long as the server
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port),
           "-w", str(PROJECT_ROOT / "workspace.yaml")]
    return subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _serve(directory: Path, port: int) -> str:
    """Serve the dashboards directory on 127.0.0.1:`port` from a daemon thread; its base URL."""
    # deferred: only the interactive `metrics up` serves pages
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    directory.mkdir(parents=True, exist_ok=True)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log on the console
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True, name="dashboards").start()
    return f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


class _Progress:
    """Prints the run's status and steps done when the status changes, else at most every 15 s."""

    EVERY_S = 15.0

    def __init__(self, label: str, t0: float) -> None:
        self.label, self.t0, self.status, self.printed = label, t0, "", 0.0

    def __call__(self, state) -> None:
        now = time.monotonic()
        if state.status == self.status and now - self.printed < self.EVERY_S:
            return
        self.status, self.printed = state.status, now
        failed = f", {state.steps_failed} failed" if state.steps_failed else ""
        print(f"[metrics up] {now - self.t0:6.0f} s  {self.label}: {state.status.lower()}, "
              f"{state.steps_succeeded} step(s) done{failed}", flush=True)


def _submit(ui, label: str, t0: float, timeout_s: float, job: str = "all_pipelines", **launch) -> bool:
    run_id = ui.launch(job, **launch)
    print(f"[metrics up] {label}: run {run_id} queued -> {ui.run_url(run_id)}", flush=True)
    state = ui.wait(run_id, timeout_s, on_poll=_Progress(label, t0), poll_s=3.0)
    if state.status != "SUCCESS":
        print(f"[metrics up] {label} {state.status}: see {ui.run_url(run_id)}", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    home = dagster_home()
    # deferred: `metrics up --help` and argument errors must not import Dagster
    from metrics_assets.cli.ui_client import DagsterUI
    from metrics_assets.dashboards.build import dashboards_dir, dashboards_url
    from metrics_assets.ingest.raw_assets import raw_key
    from metrics_core.config import pipeline_config

    end = args.end or (datetime.now(UTC).date() - timedelta(days=1))
    start = max(end - timedelta(days=args.days - 1), pipeline_config().partitions_start_date)
    history_start = pipeline_config().partitions_start_date
    ui = DagsterUI(port=args.port)
    if ui.is_up():
        print(f"[metrics up] something already answers on {ui.base}; stop it or pass --port", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    print(f"[metrics up] starting Dagster (webserver, daemon: run queue, schedule, sensors) on {ui.base}; "
          f"log {home / 'dagster-dev.log'}", flush=True)
    if not args.headless:  # the UI links the pages; a browser follows http links, not file:// ones
        os.environ["METRICS_DASHBOARDS_URL"] = _serve(dashboards_dir(), args.port + 1)
    server = _start_dagster_dev(args.port, home)
    ok = False
    try:
        ui.wait_until_up(args.start_timeout, alive=lambda: server.poll() is None)
        ok = True
        if history_start < start:
            # Signup, churn and assignment history since launch: persons, cohorts and active accounts need it.
            ok = _submit(ui, f"user history {history_start} .. {start - timedelta(days=1)}", t0, args.timeout,
                         tags=_range_tags(history_start, start - timedelta(days=1)),
                         asset_selection=[raw_key(s).path for s in HISTORY_SOURCES])
        if ok:
            ok = _submit(ui, f"all pipelines {start} .. {end} (one run)", t0, args.timeout,
                         tags=_range_tags(start, end))
        _summary(start, end, time.monotonic() - t0, ok)
        # the owners' pages, from what these runs recorded (the sensor rebuilds them after later runs)
        if _submit(ui, "ops dashboards", t0, args.timeout, job="ops_dashboards"):
            print(f"[metrics up] dashboards: {dashboards_url()}/index.html", flush=True)
        if args.headless:
            return 0 if ok else 1
        print(f"[metrics up] Dagster UI on {ui.base}; the daily schedule and the alert sensors are running "
              "(Ctrl-C stops everything; see README 'Stopping the schedule and sensors')", flush=True)
        server.wait()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(server)


def _summary(start: date, end: date, elapsed: float, ok: bool) -> None:
    # deferred: `metrics up --help` and argument errors must not import Dagster
    import dagster as dg

    from metrics_assets.cli.summary import print_summary
    from metrics_assets.definitions import build_definitions

    print_summary(build_definitions(), dg.DagsterInstance.get(), start, end, elapsed, run_ok=ok)
