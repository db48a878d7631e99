"""Where a daily run's time goes: per-step seconds of the all_pipelines job for one day, in process,
on the test suite's world (SF 0.02, 2026-08-01..2026-09-10, tests/world.py), and how many times
the run opened the warehouse file.

    .venv/bin/python scripts/profile_daily_run.py [--data /tmp/metrics-daily] [--days 2] [--top 12]

The world is built once under --data (about a minute) and copied for each invocation; the daily
runs follow it in order (2026-09-11, 09-12, ...), each with its run clock at 06:00 the next
morning, as the schedule would launch them. The figures are the per-run overhead the suite pays
in every replayed morning and an owner pays in every scheduled run.
"""

import argparse
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from benchmark import _step_seconds  # noqa: E402  (the benchmark's reading of the event log)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/tmp/metrics-daily"))
    ap.add_argument("--days", type=int, default=2, help="daily runs after the world, in order")
    ap.add_argument("--top", type=int, default=12, help="slowest steps listed per run")
    a = ap.parse_args(argv)

    import dagster as dg

    import resources.connections as connections
    from metrics_core.run_clock import RUN_CLOCK_TAG
    from tests.world import build_world, definitions, run_range

    opened = [0]
    real_connect = connections.connect_duckdb

    def counting(path: str, **kw):
        opened[0] += 1
        return real_connect(path, **kw)

    connections.connect_duckdb = counting
    a.data.mkdir(parents=True, exist_ok=True)
    base, path = a.data / "world.duckdb", a.data / "run.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    if not base.exists():
        t0 = time.perf_counter()
        w = build_world(base, date(2026, 8, 1), date(2026, 9, 10), instance)
        assert w.success, "the world's build failed"
        print(f"world built in {time.perf_counter() - t0:.1f} s: {base}")
    shutil.copyfile(base, path)
    defs = definitions(path)
    for i in range(a.days):
        d = date(2026, 9, 11) + timedelta(days=i)
        opened[0] = 0
        t0 = time.perf_counter()
        res = run_range(defs, instance, d, d, tags={RUN_CLOCK_TAG: f"{d + timedelta(days=1)}T06:00:00Z"})
        wall = time.perf_counter() - t0
        steps = _step_seconds(instance, res.run_id)
        dbt = steps.get("metrics_dbt_models", 0.0)
        print(
            f"{d}: success {res.success}, wall {wall:.1f} s, {len(steps)} steps: dbt step {dbt:.1f} s, "
            f"the other steps {sum(steps.values()) - dbt:.1f} s; warehouse opened {opened[0]} times"
        )
        for key, s in sorted(steps.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"  {s:7.2f} s  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
