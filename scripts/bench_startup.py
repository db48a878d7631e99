"""Start-up benchmark (issue 14): every `metrics <family> --help`, `metrics status`, `metrics oncall who`,
a cold definitions load and the libraries alone, each in fresh processes; median of N (default 5).

Wall time by the parent; CPU (user + sys) of the child from getrusage(RUSAGE_CHILDREN) before and
after (the contention-robust figure on a shared machine). The cases run round-robin, so a burst of
load from other jobs is spread over all of them. `metrics status` and `oncall who` read a private,
empty warehouse and ops store under a temp directory (never data/).

    .venv/bin/python scripts/bench_startup.py                 # writes benchmarks/startup.txt
    .venv/bin/python scripts/bench_startup.py --repeats 3 --only help --out -
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics_assets.cli import FAMILIES  # noqa: E402  (light: argparse and the families' names)

PY = sys.executable
METRICS = [PY, "-m", "metrics_assets.cli"]
DEFS = "import metrics_assets.definitions as d; d.build_definitions()"
# the definitions load in steps, in one fresh process: CPU seconds (process_time) of each step
BREAKDOWN = """
import json, sys, time
out, t = {}, time.process_time()
def step(name):
    global t
    now = time.process_time(); out[name] = now - t; t = now
import dagster; step("import dagster")
import dagster_dbt; step("import dagster_dbt")
import dbt.graph; step("import dbt.graph (dagster-dbt's selector, at build)")
import metrics_assets.definitions as d; step("import the project's modules (metrics_assets.definitions)")
d.build_definitions(); step("build_definitions() (config YAML, dbt specs, checks, sensors)")
out["pandas, numpy, duckdb imported"] = float(any(m in sys.modules for m in ("pandas", "numpy", "duckdb")))
print(json.dumps(out))
"""


def cases(validate: bool) -> list[tuple[str, str, list[str], float | None]]:
    """(group, label, argv, target seconds)."""
    out: list[tuple[str, str, list[str], float | None]] = [
        ("help", f"metrics {name} --help", [*METRICS, name, "--help"], 0.5) for name in FAMILIES
    ]
    out += [
        ("cmd", "metrics status", [*METRICS, "status"], 1.0),
        ("cmd", "metrics oncall who", [*METRICS, "oncall", "who"], 1.0),
        ("load", "definitions load (import + build_definitions)", [PY, "-c", DEFS], 2.0),
        ("load", "import metrics_assets.definitions", [PY, "-c", "import metrics_assets.definitions"], None),
    ]
    if validate:
        dagster = str(Path(PY).with_name("dagster"))
        out.append(("load", "dagster definitions validate -m metrics_assets.definitions",
                    [dagster, "definitions", "validate", "-m", "metrics_assets.definitions"], None))
    out += [
        ("lib", "import dagster", [PY, "-c", "import dagster"], None),
        ("lib", "import dagster_dbt", [PY, "-c", "import dagster_dbt"], None),
        ("lib", "import dagster, dagster_dbt", [PY, "-c", "import dagster, dagster_dbt"], None),
        ("lib", "import dagster, dagster_dbt, dbt.graph (what the load needs)",
         [PY, "-c", "import dagster, dagster_dbt, dbt.graph"], None),
        ("lib", "import pandas (no longer at the load)", [PY, "-c", "import pandas"], None),
    ]
    return out


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode != 0:
        sys.stderr.write(f"{' '.join(argv[-3:])}: exit {res.returncode}\n{res.stderr.decode()[-2000:]}\n")
    return wall, cpu, res.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="help,cmd,load,lib,breakdown",
                    help="groups: help,cmd,load,lib,breakdown")
    ap.add_argument("--no-validate", action="store_true", help="skip `dagster definitions validate`")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "startup.txt"), help="'-' for stdout only")
    a = ap.parse_args(argv)
    groups = set(a.only.split(","))
    todo = [c for c in cases(not a.no_validate) if c[0] in groups]

    tmp = tempfile.mkdtemp(prefix="bench-startup-")
    env = {**os.environ, "METRICS_DUCKDB_PATH": f"{tmp}/warehouse.duckdb",
           "METRICS_OPS_STORE": f"{tmp}/ops.sqlite"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    for _, _, args, _ in todo:  # warm the page cache and the bytecode caches: cold = a fresh process
        run_once(args, env)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for _, label, _, _ in todo}
    failed: set[str] = set()
    loads = []
    for _ in range(a.repeats):
        loads.append(os.getloadavg()[0])
        for _, label, args, _ in todo:
            wall, cpu, rc = run_once(args, env)
            samples[label].append((wall, cpu))
            if rc:
                failed.add(label)
        loads.append(os.getloadavg()[0])

    lines = [
        f"# scripts/bench_startup.py --repeats {a.repeats}  ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        f"# {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"1-min load {min(loads):.1f}-{max(loads):.1f} during the runs (machine shared)",
        "# fresh process each; median of the repeats; CPU = user+sys of the child (RUSAGE_CHILDREN)",
        "",
        f"{'command':<62} {'wall med':>8} {'wall min':>8} {'cpu med':>8} {'target':>7}  verdict",
    ]
    for _, label, _, target in todo:
        walls = [w for w, _ in samples[label]]
        cpus = [c for _, c in samples[label]]
        wm, cm = statistics.median(walls), statistics.median(cpus)
        verdict = "" if target is None else ("met" if wm < target else "MISSED")
        if label in failed:
            verdict += " (exit != 0)"
        tgt = f"< {target:g} s" if target else ""
        lines.append(f"{label:<62} {wm:7.3f}s {min(walls):7.3f}s {cm:7.3f}s {tgt:>7}  {verdict}".rstrip())
    if "breakdown" in groups:
        steps: dict[str, list[float]] = {}
        for _ in range(a.repeats):
            res = subprocess.run([PY, "-c", BREAKDOWN], cwd=ROOT, env=env, capture_output=True, text=True)
            for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
                steps.setdefault(k, []).append(v)
        lines += ["", "definitions load in steps, one process (median CPU seconds of each step):"]
        lines += [f"  {k:<70} {statistics.median(v):6.3f}s" for k, v in steps.items()
                  if not k.startswith("pandas")]
        lines.append("  pandas, numpy or duckdb imported by the load: "
                     + ("yes" if max(steps.get("pandas, numpy, duckdb imported", [0])) else "no"))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out != "-":
        Path(a.out).write_text(text)
        print(f"written {a.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
