"""Every heavy dbt model profiled with EXPLAIN ANALYZE, its rows per second next to a plain DuckDB
group-by of as many rows on the same machine (issue 14, "the floor").

    .venv/bin/python scripts/profile_models.py --sf 1 --days 30 --data /tmp/metrics-profile
    .venv/bin/python scripts/profile_models.py --data /tmp/metrics-profile --recompile --check

The world is the benchmark's (scripts/benchmark.py, imported): user history since launch, then
--days days of every source before --end, written by the project's generator, then one
`dbt build` of those days with the product's DuckDB sizing (metrics_core/duckdb_sizing.py). It
lives under --data and is reused when it is already there (--fresh builds it again).

Per model, the compiled select of that build (dbt's manifest, the SQL the floor runs) is run as
`EXPLAIN ANALYZE` with JSON profiling in one DuckDB connection with the same memory_limit and
threads as the product, on the built warehouse (its inputs are the tables dbt built; nothing is
written). Reported: wall seconds (best of --repeats), input rows (rows the scans of the model's
input tables return, each table counted once however often the plan reads it), rows/s, the
three operators with the most time (DuckDB's per-operator timing, summed over threads), how
often the plan scans its inputs, peak buffer memory and spill. The reference is
`select k, count(*), sum(v) from (select hash(i) % (N / 3) as k, i as v from range(N) t(i))
group by k` at the model's N input rows: ratio = model rows/s / reference rows/s (1 = as fast
per input row as a plain high-cardinality group-by; below 0.2 = more than 5x slower: "far").

Heavy models: int_app_events_window (event dedup and bot flags), fct_events, fct_sessions,
agg_engagement_daily (DAU/WAU/MAU windows), dim_persons and dim_users (growth's persons and
users), agg_retention_cohorts, and any other model that took > 10% of the dbt build's model time.

--recompile compiles the project's current SQL (`dbt compile`, same vars) and profiles that
instead of the SQL the world was built with; --check then proves each profiled select returns
exactly the rows of the table the build made (EXCEPT ALL both ways): how a SQL change is shown to
keep a model's output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from benchmark import HISTORY_SOURCES, measure, worker  # noqa: E402

HEAVY = (
    "int_app_events_window",
    "fct_events",
    "fct_sessions",
    "agg_engagement_daily",
    "dim_persons",
    "dim_users",
    "agg_retention_cohorts",
)
BUILD_SHARE = 0.10  # any other model above this share of the build's model time is profiled too
FAR = 0.2  # ratio below this: more than 5x slower per input row than the reference


@dataclass
class World:
    db: Path
    target: Path  # the dbt build's target path (manifest.json, run_results.json)
    sf: float
    days: int
    start: date
    end: date  # exclusive
    generate: dict[str, Any]


# -- the world ---------------------------------------------------------------------------------
def _sizing_env() -> dict[str, str]:
    from metrics_core.duckdb_sizing import dbt_env

    return dbt_env()


def build_world(data: Path, sf: float, days: int, end: date, fresh: bool = False) -> World:
    """Generate (history since launch + `days` days before `end`) and `dbt build` a warehouse
    under `data`, or reuse the one a previous call left there."""
    from metrics_core.rules import world

    data.mkdir(parents=True, exist_ok=True)
    stem = f"profile-sf{sf:g}-{days}d".replace(".", "_")  # DuckDB's catalog name stops at a dot
    db, target, meta_path = data / f"{stem}.duckdb", data / f"target-{stem}", data / f"{stem}.json"
    start = end - timedelta(days=days)
    if not fresh and db.exists() and meta_path.exists() and (target / "run_results.json").exists():
        meta = json.loads(meta_path.read_text())
        if meta["start"] == start.isoformat() and meta["end"] == end.isoformat():
            print(f"reusing the world {db} ({meta['generate'].get('rows', 0):,} raw rows)", flush=True)
            return World(db, target, sf, days, start, end, meta["generate"])
    for p in (db, meta_path, Path(f"{db}.wal")):
        p.unlink(missing_ok=True)
    launch = world().launch_date
    history = list(HISTORY_SOURCES)
    h = measure(
        worker("generate", db=str(db), start=str(launch), end=str(start), sf=sf, sources=history),
        label=f"generate user history at SF {sf:g}",
    )
    g = measure(
        worker("generate", db=str(db), start=str(start), end=str(end), sf=sf),
        label=f"generate {days} days at SF {sf:g}",
    )
    b = measure(
        worker("dbt_build", db=str(db), start=str(start), end=str(end), target_path=str(target)),
        env=_sizing_env(),
        label="dbt build of those days",
    )
    gen = {
        "history_rows": h["rows"],
        "rows": g["rows"],
        "gen_s": round(h["wall_s"] + g["wall_s"], 1),
        "dbt_build_s": b["dbt_s"],
        "per_source": {k: v["rows"] for k, v in g["per_source"].items()},
    }
    meta_path.write_text(json.dumps({"start": str(start), "end": str(end), "generate": gen}, indent=1))
    return World(db, target, sf, days, start, end, gen)


def dbt_compile(w: World, target: Path) -> Path:
    """`dbt compile` of the project's current SQL for the world's window; its target path."""
    from metrics_assets.transform.dbt_cli import dbt_executable
    from metrics_core.dbt_vars import dbt_vars_json

    cmd = [
        dbt_executable(), "compile", "--vars", dbt_vars_json(w.start, w.end),
        "--project-dir", str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt"), "--target", "duckdb",
        "--target-path", str(target), "--log-path", str(target), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, **_sizing_env(), "METRICS_DUCKDB_PATH": str(w.db)}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{(p.stdout + p.stderr)[-3000:]}")
    return target


def model_nodes(target: Path) -> dict[str, dict]:
    manifest = json.loads((target / "manifest.json").read_text())
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n.get("compiled_code")
    }


def build_seconds(target: Path) -> dict[str, float]:
    """Model -> seconds dbt took to build it (run_results.json of the world's build)."""
    res = json.loads((target / "run_results.json").read_text())["results"]
    models = [r for r in res if r["unique_id"].startswith("model.")]
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in models}


def heavy_models(nodes: dict[str, dict], build_s: dict[str, float]) -> list[str]:
    total = sum(build_s.values()) or 1.0
    extra = [m for m, s in sorted(build_s.items(), key=lambda kv: -kv[1]) if s / total > BUILD_SHARE]
    return [m for m in dict.fromkeys([*HEAVY, *extra]) if m in nodes]


# -- profiling ---------------------------------------------------------------------------------
def connect(db: Path, read_only: bool = True):
    import duckdb

    from resources.connections import duckdb_config

    con = duckdb.connect(str(db), read_only=read_only, config=duckdb_config())  # the product's sizing
    con.execute("SET enable_progress_bar = false")
    return con


def _operators(node: dict, out: list[dict]) -> list[dict]:
    for op in node.get("children", []):
        out.append(op)
        _operators(op, out)
    return out


def explain_analyze(con, sql: str, repeats: int = 1) -> dict[str, Any]:
    """EXPLAIN ANALYZE of `sql` (best wall of `repeats`), its profile digested."""
    best: tuple[float, dict] | None = None
    for _ in range(max(repeats, 1)):
        con.execute("PRAGMA enable_profiling = 'json'")  # only here: other queries would print theirs
        try:
            t0 = time.perf_counter()
            rows = con.execute(f"EXPLAIN ANALYZE {sql}").fetchall()
            wall = time.perf_counter() - t0
        finally:
            con.execute("PRAGMA disable_profiling")
        if best is None or wall < best[0]:
            best = (wall, json.loads(rows[0][1]))
    wall, prof = best
    ops = _operators({"children": prof.get("operator", [])}, [])  # absent when answered from metadata
    per_table: dict[str, int] = {}
    scans = 0
    for op in ops:
        table = (op.get("extra_info") or {}).get("Table")
        if op.get("type") == "TABLE_SCAN" and table:
            scans += 1
            per_table[table] = max(per_table.get(table, 0), int(op.get("intermediate_rows", 0)))
    op_total = sum(float(op.get("timing", 0)) for op in ops) or 1e-9
    real = [op for op in ops if op.get("type") not in _WRAPPERS]
    top = sorted(real, key=lambda op: -float(op.get("timing", 0)))
    system = prof.get("system", {})
    result_op = real[0] if real else {}
    return {
        "wall_s": wall,
        "input_rows": sum(per_table.values()),
        "inputs": per_table,
        "scans": scans,
        "rows_scanned": prof.get("query", {}).get("total_rows_scanned"),
        "output_rows": int(result_op.get("intermediate_rows", 0)),
        "peak_buffer_mb": system.get("peak_buffer_memory", 0) / 2**20,
        "spilled_mb": max(system.get("total_bytes_spilled", 0), system.get("peak_temp_dir_size", 0)) / 2**20,
        "top": [
            {
                "name": _name(op),
                "s": float(op.get("timing", 0)),
                "share": float(op.get("timing", 0)) / op_total,
                "rows": int(op.get("intermediate_rows", 0)),
                "info": _brief(op.get("extra_info") or {}),
            }
            for op in top[:8]
        ],
    }


_WRAPPERS = ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE")


def _name(op: dict) -> str:
    cte = (op.get("extra_info") or {}).get("CTE Name")
    return f"{op['name']} {cte}" if op.get("type") == "CTE" and cte else op["name"]


def _brief(info: dict) -> str:
    keep = ("Table", "Join Type", "Conditions", "Groups", "Aggregates", "Function", "Projections", "Filters")
    parts = []
    for k in keep:
        if k in info:
            v = info[k]
            v = ", ".join(v) if isinstance(v, list) else str(v)
            parts.append(f"{k}: {' '.join(v.split())}")
    return "; ".join(parts)[:150]


def reference(con, n: int, repeats: int = 1) -> dict[str, float]:
    """The plain DuckDB group-by of `n` rows by a key with ~n/3 distinct values."""
    n = max(int(n), 3)
    sql = (
        f"select k, count(*), sum(v) from (select hash(i) % {n // 3} as k, i as v from range({n}) t(i)) "
        "group by k"
    )
    p = explain_analyze(con, sql, repeats)
    return {"rows": n, "wall_s": p["wall_s"], "rows_per_s": n / p["wall_s"]}


def profile_models(
    db: Path,
    target: Path,
    models: list[str] | None = None,
    repeats: int = 1,
    sql_target: Path | None = None,
    check: bool = False,
) -> list[dict[str, Any]]:
    """One row per heavy model (or `models`): its EXPLAIN ANALYZE figures and its reference.

    `target` is the build's target path (build timings); `sql_target` one with other compiled SQL
    (a `dbt compile`), default the build's own. `check`: EXCEPT ALL both ways of the select against
    the built table (rows only in the select, rows only in the table)."""
    nodes = model_nodes(sql_target or target)
    built = build_seconds(target)
    total_build = sum(built.values()) or 1.0
    names = models or heavy_models(nodes, built)
    refs: dict[int, dict] = {}
    out = []
    con = connect(db)
    try:
        for name in names:
            node = nodes[name]
            p = explain_analyze(con, node["compiled_code"], repeats)
            n = p["input_rows"]
            if n not in refs:
                refs[n] = reference(con, n, repeats)
            ref = refs[n]
            rps = n / p["wall_s"] if p["wall_s"] > 0 else 0.0
            row = {
                "model": name,
                "materialized": node["config"]["materialized"],
                "build_s": built.get(name),
                "build_share": (built.get(name) or 0) / total_build,
                **p,
                "rows_per_s": rps,
                "ref_rows_per_s": ref["rows_per_s"],
                "ref_wall_s": ref["wall_s"],
                "ratio": rps / ref["rows_per_s"],
            }
            if check:
                row["check"] = identical(con, node, target)
            out.append(row)
            print(
                f"  {name:28s} {p['wall_s']:7.2f} s  {n:>11,} rows  {rps:>12,.0f} rows/s  "
                f"ref {ref['rows_per_s']:>12,.0f}  ratio {row['ratio']:.2f}",
                flush=True,
            )
    finally:
        con.close()
    return out


def identical(con, node: dict, target: Path) -> dict[str, int]:
    """Rows of the compiled select not in the built table and the other way round (EXCEPT ALL)."""
    rel = node["relation_name"]
    cols = ", ".join(f'"{c[0]}"' for c in con.execute(f"select * from {rel} limit 0").description)
    sql = node["compiled_code"]
    new, old = f"select {cols} from ({sql})", f"select {cols} from {rel}"
    a = con.execute(f"select count(*) from (({new}) except all ({old}))").fetchone()[0]
    b = con.execute(f"select count(*) from (({old}) except all ({new}))").fetchone()[0]
    n = con.execute(f"select count(*) from {rel}").fetchone()[0]
    return {"only_in_select": a, "only_in_table": b, "table_rows": n}


# -- report ------------------------------------------------------------------------------------
def _n(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k" if x >= 1e3 else f"{x:.0f}"


def render(rows: list[dict[str, Any]], w: World | None, machine: dict[str, Any], command: str) -> str:
    lines = [
        "Heavy dbt models: EXPLAIN ANALYZE vs a plain DuckDB group-by of as many rows "
        "(scripts/profile_models.py)",
        f"command: {command}",
    ]
    if w is not None:
        g = w.generate
        lines.append(
            f"world: SF {w.sf:g}, {w.days} days {w.start}..{w.end - timedelta(days=1)}, "
            f"{g.get('rows', 0):,} raw rows (+{g.get('history_rows', 0):,} user history); "
            f"dbt build {g.get('dbt_build_s', 0):.1f} s"
        )
    lines.append(
        f"machine: {machine['cpus']} CPUs, {machine['mem_gb']} GB; DuckDB {machine['duckdb']} "
        f"memory_limit={machine['memory_limit']} threads={machine['threads']}; load {machine['load']}"
    )
    lines.append(
        "reference: select k, count(*), sum(v) from (select hash(i) % (N/3) as k, i as v from range(N) t(i)) "
        "group by k, N = the model's input rows; ratio = model rows/s / reference rows/s"
    )
    lines.append("")
    hdr = (
        f"{'model':26s} {'build s':>8s} {'share':>6s} {'EA wall s':>9s} {'input rows':>11s} {'scans':>5s} "
        f"{'rows/s':>9s} {'ref rows/s':>10s} {'ratio':>6s} {'peak MB':>8s} {'spill MB':>8s}  "
        "top operators (s, share)"
    )
    lines += [hdr, "-" * len(hdr)]
    for r in rows:
        top = ", ".join(f"{t['name']} {t['s']:.2f} ({t['share']:.0%})" for t in r["top"][:3])
        far = " FAR" if r["ratio"] < FAR else ""
        build = f"{r['build_s']:8.2f}" if r["build_s"] is not None else f"{'-':>8s}"
        lines.append(
            f"{r['model']:26s} {build} {r['build_share']:6.1%} {r['wall_s']:9.2f} {r['input_rows']:>11,} "
            f"{r['scans']:>5d} {_n(r['rows_per_s']):>9s} {_n(r['ref_rows_per_s']):>10s} {r['ratio']:6.2f} "
            f"{r['peak_buffer_mb']:8.0f} {r['spilled_mb']:8.0f}  {top}{far}"
        )
    lines += [
        "",
        "build s: dbt's execution time of the model in the world's build (create/insert included);",
        "EA wall s: EXPLAIN ANALYZE of its compiled select alone (best of the repeats); input rows: rows the",
        "scans of its input tables return, each table once; scans: table scans in the plan (an input read",
        "more than once shows here); operator seconds: DuckDB's per-operator timings summed over threads",
        "(a CTE operator is the materialization of that CTE); FAR: > 5x slower per input row than the",
        "reference.",
    ]
    if any("check" in r for r in rows):
        lines += ["", "identical output (compiled select vs the built table, EXCEPT ALL both ways):"]
        for r in rows:
            c = r.get("check")
            if c:
                ok = "identical" if c["only_in_select"] == 0 and c["only_in_table"] == 0 else "DIFFERENT"
                lines.append(
                    f"  {r['model']:26s} {ok}: {c['table_rows']:,} rows, {c['only_in_select']} only in the "
                    f"select, {c['only_in_table']} only in the table"
                )
    lines += ["", "Operators with the most time, per model (rows out; plan details):"]
    for r in rows:
        ins = ", ".join(f"{t.split('.')[-1]} {n:,}" for t, n in r["inputs"].items())
        lines.append(f"  {r['model']} (inputs: {ins}; output {r['output_rows']:,} rows)")
        for t in r["top"][:6]:
            line = f"    {t['name']:28s} {t['s']:7.2f} s {t['share']:5.0%} {t['rows']:>12,}  {t['info']}"
            lines.append(line[:220])
    return "\n".join(lines) + "\n"


def machine_info() -> dict[str, Any]:
    import duckdb

    from metrics_core.duckdb_sizing import duckdb_sizing

    s = duckdb_sizing()
    return {
        "cpus": os.cpu_count(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "duckdb": duckdb.__version__,
        "memory_limit": s.memory_limit,
        "threads": s.threads,
        "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", type=float, default=1.0, help="scale factor of the generated world")
    ap.add_argument("--days", type=int, default=30, help="days of every source, built by one dbt build")
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 1), help="last day + 1")
    ap.add_argument("--data", type=Path, default=Path("/tmp/metrics-profile"), help="where the world lives")
    ap.add_argument("--fresh", action="store_true", help="generate and build the world again")
    ap.add_argument("--models", default="", help="comma-separated models (default: the heavy ones)")
    ap.add_argument("--repeats", type=int, default=2, help="EXPLAIN ANALYZE runs per query (best kept)")
    ap.add_argument("--recompile", action="store_true", help="profile the current SQL (dbt compile)")
    ap.add_argument("--check", action="store_true", help="EXCEPT ALL of each select vs its built table")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "models_profile.txt")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    a = ap.parse_args(argv)
    w = build_world(a.data, a.sf, a.days, a.end, a.fresh)
    sql_target = dbt_compile(w, a.data / f"compile-{w.db.stem}") if a.recompile else None
    models = [m.strip() for m in a.models.split(",") if m.strip()] or None
    rows = profile_models(w.db, w.target, models, a.repeats, sql_target, a.check)
    args = argv if argv is not None else sys.argv[1:]
    command = " ".join([".venv/bin/python", "scripts/profile_models.py", *args])
    text = render(rows, w, machine_info(), command)
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")
    checks = {m["model"]: m["check"] for m in rows if m.get("check")}
    bad = [m for m, c in checks.items() if c["only_in_select"] or c["only_in_table"]]
    if bad:
        print(f"DIFFERENT output: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
