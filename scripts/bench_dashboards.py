"""How long the ops dashboards take to build on a warehouse (the 90-day default world of
`make up-headless`): the command a user runs, end to end in a fresh process, and the build alone.

    .venv/bin/python scripts/bench_dashboards.py [--repeats 5] [--out benchmarks/dashboards.txt]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cmd = [str(ROOT / ".venv" / "bin" / "metrics"), "dashboards", "build"]
    walls, cpus, builds = [], [], []
    for _ in range(args.repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        builds.append(float(out.split("(")[1].split(" s)")[0]))
    import duckdb

    from metrics_core.paths import duckdb_path

    con = duckdb.connect(str(duckdb_path()), read_only=True)
    days = con.execute("select count(*), count(distinct investor_table), min(day), max(day) "
                       "from ops.slo_daily").fetchone()
    checks = con.execute("select count(*) from ops.check_history").fetchone()[0]
    con.close()
    lines = [
        "# scripts/bench_dashboards.py: `metrics dashboards build` in a fresh process, median of "
        f"{args.repeats}",
        f"# machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        f"warehouse: {duckdb_path()}",
        f"slo_daily_rows: {days[0]} ({days[1]} tables, {days[2]} .. {days[3]})",
        f"check_history_rows: {checks}",
        f"command_wall_s: {statistics.median(walls):.2f}",
        f"command_cpu_s: {statistics.median(cpus):.2f}",
        f"build_only_s: {statistics.median(builds):.2f}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
