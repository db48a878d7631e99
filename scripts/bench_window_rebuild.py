"""Seconds of `dbt run` rebuilding a built window in place: the path every daily run, re-run and
re-backfill takes (a first build only creates the tables).

On a copy of a built warehouse (the SF 1 world of scripts/profile_models.py: its .duckdb and its
.json with the window), `dbt run` of the same window, with this repository's dbt project or
another one (--project-dir: e.g. a `git worktree` of an older commit, for the before figure).
Reports the run's wall time and dbt's per-model execution time (run_results.json), and whether the
rebuilt tables hold exactly the rows they held before (EXCEPT ALL both ways, per model).

Usage:
    python scripts/bench_window_rebuild.py --world /tmp/metrics-profile/profile-sf1-30d
    python scripts/bench_window_rebuild.py --world ... --project-dir /tmp/old/dbt --label before
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from metrics_assets.transform.dbt_cli import dbt_executable  # noqa: E402
from metrics_core.dbt_vars import dbt_vars_json  # noqa: E402
from metrics_core.duckdb_sizing import dbt_env  # noqa: E402

TOP = 6  # models shown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True, help="path stem: <stem>.duckdb and <stem>.json")
    ap.add_argument("--project-dir", type=Path, default=ROOT / "dbt")
    ap.add_argument("--label", default="this commit")
    ap.add_argument("--out", type=Path, help="append the figures to this file")
    a = ap.parse_args(argv)
    meta = json.loads(a.world.with_suffix(".json").read_text())
    start, end = date.fromisoformat(meta["start"]), date.fromisoformat(meta["end"])
    work = Path(tempfile.mkdtemp(prefix="bench-rebuild-"))
    try:
        db = work / a.world.with_suffix(".duckdb").name  # same file name: same DuckDB catalog name
        shutil.copyfile(a.world.with_suffix(".duckdb"), db)
        target = work / "target"
        cmd = [
            dbt_executable(), "run", "--vars", dbt_vars_json(start, end),
            "--project-dir", str(a.project_dir), "--profiles-dir", str(ROOT / "dbt"), "--target", "duckdb",
            "--target-path", str(target), "--log-path", str(target), "--quiet",
        ]  # fmt: skip
        env = {
            **os.environ,
            **dbt_env(),
            "METRICS_DUCKDB_PATH": str(db),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        with duckdb.connect(str(db)) as con:
            con.execute("create schema if not exists before_rebuild")
            models = [
                (s, t)
                for s, t in con.execute(
                    "select schema_name, table_name from duckdb_tables() "
                    "where schema_name in ('intermediate', 'marts')"
                ).fetchall()
            ]
            for s, t in models:
                con.execute(f"create table before_rebuild.{s}__{t} as select * from {s}.{t}")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"dbt run failed:\n{(p.stdout + p.stderr)[-3000:]}")
        results = json.loads((target / "run_results.json").read_text())["results"]
        per_model = sorted(
            ((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results), key=lambda x: -x[1]
        )
        diffs = {}
        with duckdb.connect(str(db)) as con:
            for s, t in models:
                a_b = f"select * from {s}.{t} except all select * from before_rebuild.{s}__{t}"
                b_a = f"select * from before_rebuild.{s}__{t} except all select * from {s}.{t}"
                n = con.execute(
                    f"select (select count(*) from ({a_b})) + (select count(*) from ({b_a}))"
                ).fetchone()
                diffs[t] = n[0]
        model_s = sum(s for _, s in per_model)
        same = sum(1 for v in diffs.values() if v == 0)
        changed = [t for t, v in diffs.items() if v]
        lines = [
            f"{a.label}: dbt run of {start}..{end} over the built world {a.world.name} "
            f"(project {a.project_dir}): {wall:.1f} s wall, {model_s:.1f} s of model time",
            "  " + ", ".join(f"{m} {s:.2f} s" for m, s in per_model[:TOP]),
            f"  tables unchanged after the rebuild: {same} of {len(diffs)}"
            + (f"; differ: {changed}" if changed else ""),
        ]
        text = "\n".join(lines)
        print(text)
        if a.out:
            with a.out.open("a") as f:
                f.write(text + "\n")
        return 1 if changed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
