"""Benchmark of the whole graph against its floor: generator, one daily partition, a 90-day
backfill as one run vs `dbt build` alone vs the compiled SQL in one DuckDB session, checks
overhead, cold definitions load and one tick of the routing sensors.

    .venv/bin/python scripts/benchmark.py --data /tmp/metrics-bench            # everything
    .venv/bin/python scripts/benchmark.py --only backfill --days 90 --backfill-sf 1
    .venv/bin/python scripts/benchmark.py --only load,sensor

Every measured operation runs in its own child process; its wall time is taken by the parent and
its peak memory is the largest sum of RSS over the child's process tree (the Python process, the
dbt subprocess and anything they start), sampled from /proc every 50 ms. Warehouses live under
--data (never the repository); each compared system gets its own copy of the same raw data.
Results are printed and written to --out as JSON (BENCHMARKS.md is written from them by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
STAGES = ("load", "generator", "backfill", "partition", "sensor")
HISTORY_SOURCES = ("users", "account_closures", "experiment_assignments")


# -- process-tree measurement -------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root: int) -> int:
    """RSS summed over `root` and all its descendants (shared pages counted per process)."""
    kids, total, todo = _children_map(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo.extend(kids.get(pid, []))
    return total


def measure(
    cmd: list[str], *, env: dict[str, str] | None = None, label: str = "", cwd: Path = ROOT
) -> dict[str, Any]:
    """Run `cmd`, return wall seconds, peak tree RSS (MB) and the JSON of its last stdout line."""
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            done.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    done.set()
    t.join()
    wall = time.perf_counter() - started
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    result: dict[str, Any] = {}
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if proc.returncode != 0:
        tail = "\n".join((err or out).strip().splitlines()[-25:])
        raise RuntimeError(f"{label or cmd[:3]} failed (exit {proc.returncode}):\n{tail}")
    rec = {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(peak[0] / 1024, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **result,
    }
    print(
        f"    {label:52s} {wall:8.2f} s  cpu {cpu:8.2f} s  peak {rec['peak_rss_mb']:8.1f} MB"
        f"  (load {rec['loadavg_1m']})",
        flush=True,
    )
    return rec


def worker(task: str, **kw: Any) -> list[str]:
    return [PY, str(Path(__file__).resolve()), "--worker", task, "--args", json.dumps(kw, default=str)]


# -- workers (run in the measured child) --------------------------------------------------------
def w_generate(db: str, start: str, end: str, sf: float, sources: list[str] | None = None) -> dict:
    from metrics_assets.generator import RANGE_COMMIT_DAYS, write_partitions
    from metrics_core.rules import world
    from metrics_core.sources import SOURCES
    from resources.connections import connect_duckdb

    w = world()
    rows, per = 0, {}
    t0 = time.perf_counter()
    # as `metrics generate` connects: the platform's DuckDB sizing (memory cap, threads)
    with connect_duckdb(db) as con:
        con.execute("SET enable_progress_bar = false")
        for name in sources or list(SOURCES):
            t = time.perf_counter()
            n = write_partitions(
                con,
                name,
                date.fromisoformat(start),
                date.fromisoformat(end),
                scale_factor=sf,
                seed=w.seed,
                launch_date=w.launch_date,
                commit_days=RANGE_COMMIT_DAYS,  # as `metrics generate` does: a week per transaction
            )
            per[name] = {"rows": n, "seconds": round(time.perf_counter() - t, 3)}
            rows += n
    secs = time.perf_counter() - t0
    return {"rows": rows, "gen_s": round(secs, 3), "rows_per_s": round(rows / secs), "per_source": per}


def _defs(db: str, sf: float, mode: str):
    import dagster as dg

    from metrics_assets.definitions import build_definitions, build_resources
    from metrics_assets.generator.landing import SyntheticRawSource
    from metrics_assets.orchestration.jobs import ALL_PIPELINES_JOB
    from resources.raw_source import RawSource
    from resources.warehouse import Warehouse

    os.environ["METRICS_DUCKDB_PATH"] = db
    resources = build_resources(Warehouse(backend="duckdb", duckdb_path=db))
    base = resources["raw_source"]
    resources["raw_source"] = (
        SyntheticRawSource(scale_factor=sf, seed=base.seed, launch_date=base.launch_date)
        if mode == "synthetic"
        else RawSource()
    )
    defs = build_definitions(resources)
    # the publication gates are part of their publish assets (not subsettable): they stay; every
    # runbook check (the multi-asset check steps) goes
    gates = [k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "publication_gate"]
    no_checks = dg.define_asset_job(
        "bench_all_without_checks",
        selection=ALL_PIPELINES_JOB.selection.without_checks() | dg.AssetSelection.checks(*gates),
    )
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[no_checks]))


def w_dagster(
    db: str, home: str, sf: float, start: str, end: str, mode: str = "synthetic", selection: str = "all"
) -> dict:
    """One run of the all_pipelines job for [start, end] (inclusive) as a single-run range."""
    import dagster as dg

    from metrics_assets.ingest.raw_assets import raw_key

    t0 = time.perf_counter()
    defs = _defs(db, sf, mode)
    job_name = "bench_all_without_checks" if selection == "no_checks" else "all_pipelines"
    job = defs.resolve_job_def(job_name)
    keys = [raw_key(s) for s in HISTORY_SOURCES] if selection == "history" else None
    instance = dg.DagsterInstance.local_temp(tempdir=home)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = job.execute_in_process(
        instance=instance,
        asset_selection=keys,
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    run_s = time.perf_counter() - t1
    checks = [e for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = [
        e.event_specific_data.asset_check_key.to_user_string()
        for e in checks
        if not e.event_specific_data.passed
    ]
    steps = {e.step_key: None for e in res.all_events if e.event_type_value == "STEP_SUCCESS"}
    step_fail = [e.step_key for e in res.all_events if e.event_type_value == "STEP_FAILURE"]
    step_s = _step_seconds(instance, res.run_id)
    emitted: dict[str, set[str]] = {}
    for e in res.all_events:
        emitted.setdefault(e.step_key or "", set()).add(e.event_type_value)
    return {
        "success": res.success,
        "run_s": round(run_s, 3),
        "defs_load_s": round(load_s, 3),
        "materializations": len(res.get_asset_materialization_events()),
        "check_evaluations": len(checks),
        "checks_failed": sorted(set(failed))[:20],
        "steps_ok": len(steps),
        "steps_failed": step_fail,
        "step_seconds_by_kind": _by_kind(step_s, emitted),
        "slowest_steps_s": dict(sorted(step_s.items(), key=lambda kv: -kv[1])[:8]),
    }


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Step key -> seconds from STEP_START to STEP_SUCCESS/FAILURE (from the event log)."""
    started, out = {}, {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None:
            continue
        if ev.event_type_value == "STEP_START":
            started[ev.step_key] = rec.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in started:
            out[ev.step_key] = round(rec.timestamp - started[ev.step_key], 3)
    return out


def _by_kind(step_s: dict[str, float], emitted: dict[str, set[str]]) -> dict[str, float]:
    """Seconds per kind of step: the dbt build (models + dbt tests), other asset steps (raw,
    publication, on-call), and check-only steps (Python checks: no materialization)."""
    kinds: dict[str, float] = {}
    for key, secs in step_s.items():
        ev = emitted.get(key, set())
        kind = (
            "dbt_build"
            if key == "metrics_dbt_models"
            else "publish"
            if key.startswith("investor__")
            else "raw"
            if key.startswith("raw__") and "ASSET_MATERIALIZATION" in ev
            else "python_checks"
            if "ASSET_MATERIALIZATION" not in ev
            else "other_assets"
        )
        kinds[kind] = round(kinds.get(kind, 0) + secs, 3)
    kinds["steps"] = len(step_s)
    return kinds


def w_dbt_build(db: str, start: str, end: str, target_path: str) -> dict:
    """`dbt build --vars <window>`: what the Dagster asset runs, without Dagster."""
    from metrics_assets.transform.dbt_cli import dbt_executable
    from metrics_core.dbt_vars import dbt_vars_json

    cmd = [
        dbt_executable(),
        "build",
        "--vars",
        dbt_vars_json(date.fromisoformat(start), date.fromisoformat(end)),
        "--project-dir",
        str(ROOT / "dbt"),
        "--profiles-dir",
        str(ROOT / "dbt"),
        "--target",
        "duckdb",
        "--target-path",
        target_path,
        "--log-path",
        target_path,
        "--quiet",
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env={**os.environ, "METRICS_DUCKDB_PATH": db}, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        print((p.stdout + p.stderr)[-4000:], file=sys.stderr)
        raise SystemExit(p.returncode)
    return {"dbt_s": round(secs, 3)}


def _topo(nodes: dict[str, dict], wanted: set[str]) -> list[str]:
    order, seen = [], set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for dep in nodes[uid]["depends_on"]["nodes"]:
            if dep in wanted:
                visit(dep)
        order.append(uid)

    for uid in sorted(wanted):
        visit(uid)
    return order


def floor_statements(manifest: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(model name, DDL) in DAG order, and (test name, count query) for every compiled test.

    view -> `create or replace view s.m as <compiled>`; table and incremental (first build of the
    window on an empty warehouse, as dbt does) -> `create or replace table s.m as <compiled>`.
    """
    nodes = manifest["nodes"]
    models = {
        u for u, n in nodes.items() if n["resource_type"] == "model" and n["config"].get("enabled", True)
    }
    ddl = []
    for uid in _topo(nodes, models):
        n = nodes[uid]
        kind = "view" if n["config"]["materialized"] == "view" else "table"
        rel = f'"{n["schema"]}"."{n.get("alias") or n["name"]}"'
        ddl.append((n["name"], f"create or replace {kind} {rel} as (\n{n['compiled_code']}\n)"))
    tests = [
        (n["name"], f"select count(*) from (\n{n['compiled_code']}\n) t")
        for u, n in sorted(nodes.items())
        if n["resource_type"] == "test" and n.get("compiled_code")
    ]
    return ddl, tests


def w_floor(db: str, start: str, end: str, target_path: str, tests: bool = True) -> dict:
    """`dbt compile` (not timed), then the compiled SQL of every model in DAG order in ONE DuckDB
    connection; then, timed separately, every compiled dbt test as `select count(*)`."""
    import duckdb

    from metrics_assets.transform.dbt_cli import dbt_executable
    from metrics_core.dbt_vars import dbt_vars_json

    cmd = [
        dbt_executable(),
        "compile",
        "--vars",
        dbt_vars_json(date.fromisoformat(start), date.fromisoformat(end)),
        "--project-dir",
        str(ROOT / "dbt"),
        "--profiles-dir",
        str(ROOT / "dbt"),
        "--target",
        "duckdb",
        "--target-path",
        target_path,
        "--log-path",
        target_path,
        "--quiet",
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env={**os.environ, "METRICS_DUCKDB_PATH": db}, capture_output=True, text=True)
    compile_s = time.perf_counter() - t0
    if p.returncode != 0:
        print((p.stdout + p.stderr)[-4000:], file=sys.stderr)
        raise SystemExit(p.returncode)
    manifest = json.loads((Path(target_path) / "manifest.json").read_text())
    ddl, test_sql = floor_statements(manifest)
    per_model = {}
    from resources.connections import duckdb_config

    with duckdb.connect(db, config=duckdb_config()) as con:  # the same memory cap as dbt and Dagster
        con.execute("SET enable_progress_bar = false")
        t1 = time.perf_counter()
        for schema in sorted(
            {n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
        ):
            con.execute(f'create schema if not exists "{schema}"')
        for name, sql in ddl:
            t = time.perf_counter()
            con.execute(sql)
            per_model[name] = round(time.perf_counter() - t, 3)
        models_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        failing = [name for name, sql in test_sql if tests and con.execute(sql).fetchone()[0]]
        tests_s = time.perf_counter() - t2
    slowest = dict(sorted(per_model.items(), key=lambda kv: -kv[1])[:6])
    return {
        "compile_s": round(compile_s, 3),
        "models_s": round(models_s, 3),
        "tests_s": round(tests_s, 3),
        "models": len(ddl),
        "tests": len(test_sql),
        "tests_failing": failing[:10],
        "slowest_models_s": slowest,
    }


def w_import() -> dict:
    t0 = time.perf_counter()
    import metrics_assets.definitions as d

    secs = time.perf_counter() - t0
    repo = d.build_definitions().get_repository_def()
    return {
        "import_s": round(secs, 3),
        "assets": len(repo.asset_graph.get_all_asset_keys()),
        "checks": len(repo.asset_graph.asset_check_keys),
    }


def w_sensor_tick(db: str, home: str) -> dict:
    """Every alert sensor of the real definitions, ticked once (first tick, empty cursor) and once
    more (steady state), against the instance that holds the benchmark's runs."""
    import dagster as dg

    from metrics_assets.alerting.runtime import AlertRuntime
    from metrics_assets.alerting.sensors import build_alert_sensors

    os.environ["METRICS_DUCKDB_PATH"] = db
    defs = _defs(db, 0.1, "landed")
    repo = defs.get_repository_def()
    instance = dg.DagsterInstance.local_temp(tempdir=home)
    runtime = AlertRuntime(store_path=lambda: Path(home) / "ops.sqlite", env={})
    out = {}
    for sensor in build_alert_sensors(runtime):
        cursor, times = None, []
        for _ in range(2):
            ctx = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor)
            t = time.perf_counter()
            sensor(ctx)
            times.append(round(time.perf_counter() - t, 3))
            cursor = ctx.cursor
        out[sensor.name] = {"first_tick_s": times[0], "next_tick_s": times[1]}
    runs = instance.get_runs_count()
    checks = len(repo.asset_graph.asset_check_keys)
    return {"ticks": out, "runs_in_instance": runs, "check_keys": checks}


def w_alert_load(evaluations: int) -> dict:
    sys.path.insert(0, str(ROOT / "scripts"))
    import tempfile

    from bench_alert_tick import run_bench

    with tempfile.TemporaryDirectory() as tmp:
        r = run_bench(evaluations, Path(tmp))
    r.pop("incident_table", None)
    return r


WORKERS = {
    "generate": w_generate,
    "dagster": w_dagster,
    "dbt_build": w_dbt_build,
    "floor": w_floor,
    "import": w_import,
    "sensor_tick": w_sensor_tick,
    "alert_load": w_alert_load,
}


# -- stages (parent) ----------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.data: Path = args.data
        self.data.mkdir(parents=True, exist_ok=True)
        from metrics_core.rules import world

        self.launch = world().launch_date
        self.results: dict[str, Any] = {}

    def home(self, name: str) -> str:
        p = self.data / "home" / name
        p.mkdir(parents=True, exist_ok=True)
        return str(p)

    # load -------------------------------------------------------------------------------------
    def stage_load(self) -> dict:
        print("== definitions load (cold, fresh process)")
        runs = [
            measure(worker("import"), label=f"import metrics_assets.definitions #{i + 1}")
            for i in range(self.a.repeats_load)
        ]
        validate = []
        if shutil.which("dagster", path=str(Path(PY).parent)) or (Path(PY).parent / "dagster").exists():
            for i in range(self.a.repeats_load):
                validate.append(
                    measure(
                        [
                            str(Path(PY).parent / "dagster"),
                            "definitions",
                            "validate",
                            "-m",
                            "metrics_assets.definitions",
                        ],
                        label=f"dagster definitions validate #{i + 1}",
                    )
                )
        bare = [
            measure([PY, "-c", "import dagster, dagster_dbt"], label=f"import dagster, dagster_dbt #{i + 1}")
            for i in range(self.a.repeats_load)
        ]
        return {
            "process_wall_s": [r["wall_s"] for r in runs],
            "import_s": [r["import_s"] for r in runs],
            "validate_wall_s": [r["wall_s"] for r in validate],
            "import_dagster_dagster_dbt_wall_s": [r["wall_s"] for r in bare],
            "process_cpu_s": [r["cpu_s"] for r in runs],
            "validate_cpu_s": [r["cpu_s"] for r in validate],
            "median_process_wall_s": statistics.median(r["wall_s"] for r in runs),
            "median_process_cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "median_validate_wall_s": statistics.median(r["wall_s"] for r in validate) if validate else None,
            "assets": runs[0]["assets"],
            "checks": runs[0]["checks"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        }

    # generator --------------------------------------------------------------------------------
    def stage_generator(self) -> dict:
        print("== generator rows per second")
        out = {}
        d0 = self.a.end
        for sf in self.a.sf:
            db = self.data / f"gen-sf{sf}.duckdb"
            db.unlink(missing_ok=True)
            days = self.a.gen_days
            r = measure(
                worker("generate", db=str(db), start=str(d0 - timedelta(days=days)), end=str(d0), sf=sf),
                label=f"generate {days} day(s) at SF {sf}",
            )
            out[str(sf)] = {
                k: r[k] for k in ("rows", "gen_s", "rows_per_s", "wall_s", "peak_rss_mb", "per_source")
            }
            print(f"      SF {sf}: {r['rows']:,} rows, {r['rows_per_s']:,} rows/s")
            db.unlink(missing_ok=True)
        return out

    # one partition ----------------------------------------------------------------------------
    def prepare_history(self, db: Path, sf: float, start: date) -> dict:
        """Raw history sources since launch and `warm` built days before `start` (generator +
        dbt build, unmeasured), so the measured daily run is an ordinary incremental day."""
        db.unlink(missing_ok=True)
        warm = self.a.warm_days
        r1 = measure(
            worker(
                "generate",
                db=str(db),
                start=str(self.launch),
                end=str(start - timedelta(days=warm)),
                sf=sf,
                sources=list(HISTORY_SOURCES),
            ),
            label=f"prep: user history at SF {sf}",
        )
        r2 = measure(
            worker("generate", db=str(db), start=str(start - timedelta(days=warm)), end=str(start), sf=sf),
            label=f"prep: raw for {warm} warm-up day(s)",
        )
        r3 = measure(
            worker(
                "dbt_build",
                db=str(db),
                start=str(start - timedelta(days=warm)),
                end=str(start),
                target_path=str(self.data / "target" / f"prep-{sf}"),
            ),
            label="prep: dbt build of warm-up days",
        )
        return {"history_rows": r1["rows"], "warm_rows": r2["rows"], "warm_dbt_s": r3["dbt_s"]}

    def stage_partition(self) -> dict:
        print("== one daily partition end to end (raw generation + dbt + checks + publish, through Dagster)")
        out = {}
        day = self.a.end
        for sf in self.a.sf:
            db = self.data / f"partition-sf{sf}.duckdb"
            home = self.home(f"partition-sf{sf}")
            prep = self.prepare_history(db, sf, day)
            reps = self.a.repeats if sf <= 1 else self.a.repeats_big
            runs: dict[str, list[dict]] = {"all": [], "no_checks": []}
            for i in range(reps):
                for sel in ("all", "no_checks") if sf in self.a.checks_sf or i == 0 else ("all",):
                    r = measure(
                        worker(
                            "dagster",
                            db=str(db),
                            home=home,
                            sf=sf,
                            start=str(day),
                            end=str(day),
                            selection=sel,
                        ),
                        label=f"SF {sf} {day} {sel} #{i + 1}",
                    )
                    if not r["success"]:
                        print(f"      run failed: steps {r['steps_failed']}")
                    runs[sel].append(r)
            a, n = runs["all"], runs["no_checks"]
            res = {
                "prep": prep,
                "day": str(day),
                "runs": runs,
                "wall_s": statistics.median(r["wall_s"] for r in a),
                "run_s": statistics.median(r["run_s"] for r in a),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in a + n),
                "check_evaluations": a[0]["check_evaluations"],
                "success": all(r["success"] for r in a + n),
            }
            if n:
                res["no_checks_run_s"] = statistics.median(r["run_s"] for r in n)
                res["no_checks_wall_s"] = statistics.median(r["wall_s"] for r in n)
                res["checks_overhead_run"] = round(res["run_s"] / res["no_checks_run_s"] - 1, 3)
                res["checks_overhead_wall"] = round(res["wall_s"] / res["no_checks_wall_s"] - 1, 3)
            print(
                f"      SF {sf}: run {res['run_s']:.1f} s (process {res['wall_s']:.1f} s), peak "
                f"{res['peak_rss_mb']:.0f} MB, {res['check_evaluations']} check evaluations"
                + (f", checks overhead {res['checks_overhead_run']:+.0%}" if n else "")
            )
            out[str(sf)] = res
            if not self.a.keep:
                db.unlink(missing_ok=True)
        return out

    # 90-day backfill --------------------------------------------------------------------------
    def stage_backfill(self) -> dict:
        sf, days = self.a.backfill_sf, self.a.days
        end_excl = self.a.end
        start = end_excl - timedelta(days=days)
        last = end_excl - timedelta(days=1)
        print(f"== {days}-day backfill {start} .. {last} at SF {sf}: Dagster vs dbt build vs the floor")
        base = self.data / f"backfill-sf{sf}-base.duckdb"
        gen = self.results.get("backfill", {}).get("generate")
        if not (self.a.reuse and base.exists()):
            base.unlink(missing_ok=True)
            h = measure(
                worker(
                    "generate",
                    db=str(base),
                    start=str(self.launch),
                    end=str(start),
                    sf=sf,
                    sources=list(HISTORY_SOURCES),
                ),
                label=f"generate user history at SF {sf}",
            )
            g = measure(
                worker("generate", db=str(base), start=str(start), end=str(end_excl), sf=sf),
                label=f"generate {days} days at SF {sf}",
            )
            gen = {
                "history_rows": h["rows"],
                "rows": g["rows"],
                "gen_s": g["gen_s"],
                "rows_per_s": g["rows_per_s"],
                "wall_s": g["wall_s"],
                "peak_rss_mb": g["peak_rss_mb"],
                "per_source": g["per_source"],
            }
            print(f"      {g['rows']:,} rows in {g['gen_s']:.1f} s = {g['rows_per_s']:,} rows/s")
        copies = {}
        for name in self.a.backfill_order:  # only the systems measured (SF 10: 6.7 GB a copy)
            copies[name] = self.data / f"backfill-sf{sf}-{name}.duckdb"
            shutil.copyfile(base, copies[name])
        out: dict[str, Any] = {
            "sf": sf,
            "days": days,
            "start": str(start),
            "end_inclusive": str(last),
            "generate": gen,
            "raw_db_mb": round(base.stat().st_size / 2**20),
        }
        order = self.a.backfill_order
        for system in order:
            if system == "dagster":
                out["dagster"] = measure(
                    worker(
                        "dagster",
                        db=str(copies["dagster"]),
                        home=self.home(f"backfill-sf{sf}"),
                        sf=sf,
                        start=str(start),
                        end=str(last),
                        mode="landed",
                    ),
                    label="Dagster all_pipelines, one run (raw landed)",
                )
                if not out["dagster"]["success"]:  # e.g. publication refused: too little baseline history
                    print(f"      run failed: steps {out['dagster']['steps_failed']}")
            elif system == "dbt":
                out["dbt"] = measure(
                    worker(
                        "dbt_build",
                        db=str(copies["dbt"]),
                        start=str(start),
                        end=str(end_excl),
                        target_path=str(self.data / "target" / "dbt-build"),
                    ),
                    label="dbt build alone (same vars)",
                )
            elif system == "floor":
                out["floor"] = measure(
                    worker(
                        "floor",
                        db=str(copies["floor"]),
                        start=str(start),
                        end=str(end_excl),
                        target_path=str(self.data / "target" / "floor"),
                    ),
                    label="floor: compiled SQL in one DuckDB session",
                )
        d, b, f = out.get("dagster"), out.get("dbt"), out.get("floor")
        if d and b:
            out["ratio_dagster_vs_dbt"] = round(d["wall_s"] / b["wall_s"], 3)
        if d and f:
            out["ratio_dagster_vs_floor_models"] = round(d["wall_s"] / f["models_s"], 3)
            out["ratio_dagster_vs_floor_models_tests"] = round(
                d["wall_s"] / (f["models_s"] + f["tests_s"]), 3
            )
        if b and f:
            out["ratio_dbt_vs_floor_models"] = round(b["wall_s"] / f["models_s"], 3)
            out["ratio_dbt_vs_floor_models_tests"] = round(b["wall_s"] / (f["models_s"] + f["tests_s"]), 3)
        for k, v in out.items():
            if k.startswith("ratio_"):
                print(f"      {k}: {v:.2f}x")
        if self.a.next_day and d:
            # tomorrow's daily run on top of the backfilled warehouse: checks now see 90 days of history
            nxt = []
            db = copies["dagster"]
            for i in range(self.a.repeats):
                for sel in ("all", "no_checks"):
                    nxt.append(
                        measure(
                            worker(
                                "dagster",
                                db=str(db),
                                home=self.home(f"backfill-sf{sf}"),
                                sf=sf,
                                start=str(end_excl),
                                end=str(end_excl),
                                selection=sel,
                            ),
                            label=f"next day {end_excl} {sel} #{i + 1}",
                        )
                        | {"selection": sel}
                    )
                    if not nxt[-1]["success"]:
                        print(f"      run failed: steps {nxt[-1]['steps_failed']}")
            a = [r for r in nxt if r["selection"] == "all"]
            n = [r for r in nxt if r["selection"] == "no_checks"]
            out["next_day"] = {
                "runs": nxt,
                "run_s": statistics.median(r["run_s"] for r in a),
                "no_checks_run_s": statistics.median(r["run_s"] for r in n),
                "wall_s": statistics.median(r["wall_s"] for r in a),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in nxt),
            }
            out["next_day"]["checks_overhead_run"] = round(
                out["next_day"]["run_s"] / out["next_day"]["no_checks_run_s"] - 1, 3
            )
            print(
                f"      next day: run {out['next_day']['run_s']:.1f} s, checks overhead "
                f"{out['next_day']['checks_overhead_run']:+.0%}"
            )
        if not self.a.keep:
            for p in copies.values():
                if p != copies.get("dagster") or not self.a.next_day:
                    p.unlink(missing_ok=True)
        return out

    # sensors ----------------------------------------------------------------------------------
    def stage_sensor(self) -> dict:
        print("== one tick of the routing sensors")
        out = {
            "synthetic_1000_failing_evaluations": measure(
                worker("alert_load", evaluations=1000),
                label="alert_on_check_failures, 1,000 failing evaluations",
            )
        }
        homes = sorted((self.data / "home").glob("*")) if (self.data / "home").exists() else []
        for home in homes:
            name = home.name
            db = self.data / f"sensor-{name}.duckdb"
            db.unlink(missing_ok=True)
            out[f"real_instance_{name}"] = measure(
                worker("sensor_tick", db=str(db), home=str(home)),
                label=f"all 4 sensors on the instance of {name}",
            )
            db.unlink(missing_ok=True)
        return out


def machine() -> dict:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import dagster
    import duckdb

    from metrics_core.dbt_chunks import max_window_days
    from metrics_core.duckdb_sizing import duckdb_sizing

    sizing = duckdb_sizing()

    dbt_v = subprocess.run([str(Path(PY).parent / "dbt"), "--version"], capture_output=True, text=True).stdout
    return {
        "cpus": os.cpu_count(),
        "mem_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dagster": dagster.__version__,
        "duckdb": duckdb.__version__,
        "dbt": " ".join(dbt_v.split()[:4]),
        "loadavg_start": os.getloadavg(),
        "duckdb_memory_limit": sizing.memory_limit,
        "duckdb_threads": sizing.threads,
        "dbt_max_window_days": max_window_days(),
    }


def render(report: dict[str, Any]) -> str:
    """The summary table of BENCHMARKS.md from a results JSON (`--render FILE`)."""
    rows = ["| figure | value | target |", "|---|---|---|"]

    def add(name: str, value: str, target: str = "") -> None:
        rows.append(f"| {name} | {value} | {target} |")

    if "load" in report:
        ld = report["load"]
        add(
            "definitions load, fresh `import metrics_assets.definitions` (median wall / CPU)",
            f"{ld['median_process_wall_s']:.1f} s / {ld['median_process_cpu_s']:.1f} s",
            "< 3 s",
        )
        if ld.get("validate_cpu_s"):
            add(
                "`dagster definitions validate -m metrics_assets.definitions` (median wall / CPU)",
                f"{ld['median_validate_wall_s']:.1f} s / {statistics.median(ld['validate_cpu_s']):.1f} s",
            )
        add(
            "of which `import dagster, dagster_dbt` (wall)",
            f"{statistics.median(ld['import_dagster_dagster_dbt_wall_s']):.1f} s",
        )
    for sf, g in report.get("generator", {}).items():
        if sf != "stage_s":
            add(f"generator, SF {sf}", f"{g['rows']:,} rows, {g['rows_per_s']:,} rows/s")
    bf = report.get("backfill", {})
    if bf.get("generate"):
        g = bf["generate"]
        add(
            f"generator, SF {bf['sf']} x {bf['days']} days",
            f"{g['rows']:,} rows, {g['rows_per_s']:,} rows/s, peak {g['peak_rss_mb'] / 1024:.1f} GB",
        )
    for sys_name, label in (
        ("dagster", "Dagster, one run (all assets + checks + publish)"),
        ("dbt", "`dbt build` alone"),
        ("floor", "floor: compiled SQL, one DuckDB session"),
    ):
        if sys_name in bf:
            r = bf[sys_name]
            extra = (
                f" (models {r['models_s']:.0f} s + dbt tests {r['tests_s']:.0f} s; compile not counted)"
                if sys_name == "floor"
                else ""
            )
            add(
                f"{bf['days']}-day backfill SF {bf['sf']}: {label}",
                f"{r['wall_s']:.0f} s, peak {r['peak_rss_mb'] / 1024:.1f} GB{extra}",
            )
    for k, target in (
        ("ratio_dagster_vs_dbt", "<= 1.5x"),
        ("ratio_dagster_vs_floor_models", "<= 2x"),
        ("ratio_dagster_vs_floor_models_tests", ""),
        ("ratio_dbt_vs_floor_models", ""),
    ):
        if k in bf:
            add(k.replace("ratio_", "ratio ").replace("_", " "), f"{bf[k]:.2f}x", target)
    if "next_day" in bf:
        nd = bf["next_day"]
        add(
            f"next day after the backfill, SF {bf['sf']}: run with checks / without",
            f"{nd['run_s']:.0f} s / {nd['no_checks_run_s']:.0f} s = {nd['checks_overhead_run']:+.0%}",
            "<= +25%",
        )
    for sf, p in report.get("partition", {}).items():
        if sf == "stage_s":
            continue
        v = f"run {p['run_s']:.0f} s (process {p['wall_s']:.0f} s), peak {p['peak_rss_mb'] / 1024:.2f} GB"
        if "checks_overhead_run" in p:
            v += f"; without checks {p['no_checks_run_s']:.0f} s ({p['checks_overhead_run']:+.0%})"
        add(
            f"one daily partition, SF {sf}",
            v,
            "< 4 GB" if float(sf) >= 5 else ("checks <= +25%" if float(sf) == 1 else ""),
        )
    for name, t in report.get("sensor", {}).items():
        if name == "stage_s":
            continue
        if "tick_seconds" in t:
            add("alert_on_check_failures tick, 1,000 failing evaluations", f"{t['tick_seconds']:.2f} s")
        else:
            worst = max(v["first_tick_s"] for v in t["ticks"].values())
            add(
                f"4 routing sensors on the `{name.replace('real_instance_', '')}` instance "
                f"({t['runs_in_instance']} runs)",
                f"slowest first tick {worst:.2f} s",
            )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--only", default=",".join(STAGES), help=f"comma-separated stages of {STAGES}")
    ap.add_argument(
        "--data", type=Path, default=Path("/tmp/metrics-bench"), help="work directory (warehouses)"
    )
    ap.add_argument("--sf", default="0.1,1,5", help="scale factors for generator and partition stages")
    ap.add_argument(
        "--end",
        type=date.fromisoformat,
        default=date(2026, 10, 1),
        help="the measured daily partition; the backfill covers the --days before it",
    )
    ap.add_argument("--days", type=int, default=90, help="backfill length")
    ap.add_argument("--backfill-sf", type=float, default=1.0)
    ap.add_argument("--backfill-order", default="dagster,dbt,floor")
    ap.add_argument(
        "--next-day", action="store_true", help="after the backfill, time the next day with/without checks"
    )
    ap.add_argument("--gen-days", type=int, default=2)
    ap.add_argument("--warm-days", type=int, default=7, help="built days before the measured partition")
    ap.add_argument("--repeats", type=int, default=2, help="runs per variant at SF <= 1")
    ap.add_argument("--repeats-big", type=int, default=1, help="runs per variant at SF > 1")
    ap.add_argument("--repeats-load", type=int, default=3)
    ap.add_argument(
        "--checks-sf", default="0.1,1", help="scale factors where runs without checks are timed too"
    )
    ap.add_argument("--reuse", action="store_true", help="reuse an existing backfill base warehouse")
    ap.add_argument("--keep", action="store_true", help="keep the warehouses under --data")
    ap.add_argument(
        "--out", type=Path, default=None, help="results JSON (default benchmarks/results-<date>.json)"
    )
    ap.add_argument("--render", type=Path, help="print the markdown table of a results JSON and exit")
    a = ap.parse_args(argv)
    if a.render:
        print(render(json.loads(a.render.read_text())), end="")
        return 0
    if a.worker:
        res = WORKERS[a.worker](**json.loads(a.args))
        ru = resource.getrusage(resource.RUSAGE_SELF)
        ru_c = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            json.dumps(
                {
                    **res,
                    "maxrss_self_mb": round(ru.ru_maxrss / 1024, 1),
                    "maxrss_children_mb": round(ru_c.ru_maxrss / 1024, 1),
                },
                default=str,
            )
        )
        return 0
    a.sf = [float(x) for x in a.sf.split(",")]
    a.checks_sf = [float(x) for x in a.checks_sf.split(",")]
    a.backfill_order = a.backfill_order.split(",")
    stages = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        ap.error(f"unknown stage(s) {sorted(unknown)}; choose from {STAGES}")
    bench = Bench(a)
    out_path = a.out or ROOT / "benchmarks" / f"results-{date.today().isoformat()}.json"
    report: dict[str, Any] = {
        "command": " ".join([Path(PY).name, *sys.argv]),
        "machine": machine(),
        "args": {k: v for k, v in vars(a).items() if k not in ("worker", "args")},
    }
    t0 = time.perf_counter()
    for stage in STAGES:
        if stage in stages:
            st = time.perf_counter()
            report[stage] = getattr(bench, f"stage_{stage}")()
            report[stage]["stage_s"] = round(time.perf_counter() - st, 1)
            bench.results[stage] = report[stage]
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    report["machine"]["loadavg_end"] = os.getloadavg()
    report["total_s"] = round(time.perf_counter() - t0, 1)
    out_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"results: {out_path}  ({report['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
