"""Load test for the check-alert sensor: N failing check evaluations across the five
pipelines land between two ticks; one tick must turn them into at most one incident per
(pipeline, failure kind) and finish in a few seconds.

    .venv/bin/python scripts/bench_alert_tick.py [--evaluations 1000] [--out benchmarks/alert_tick.txt]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics_assets.alerting.runtime import AlertRuntime  # noqa: E402
from metrics_assets.alerting.sensors import build_alert_sensors  # noqa: E402
from metrics_core.alerting_model import OnCall  # noqa: E402
from metrics_core.config import pipeline_config  # noqa: E402
from resources.incident_store import IncidentStore  # noqa: E402

CHECKS_PER_PIPELINE = 4


class _Lookup:
    def who(self, at: datetime) -> OnCall:
        return OnCall(at=at, primary="alex.mehta@metrics.example.com", backup="priya.rao@metrics.example.com")


def build_defs() -> tuple[dg.Definitions, list[dg.AssetCheckKey]]:
    """One tagged asset per pipeline with a few checks each (the shape of the real graph)."""
    assets, checks, keys = [], [], []
    for pid, p in pipeline_config().pipelines.items():
        spec = dg.AssetSpec(f"bench_{pid}", owners=[p.owners.primary, p.owners.secondary],
                            tags={"pipeline": pid, "audience": p.audience.value})
        assets.append(spec)
        for i in range(CHECKS_PER_PIPELINE):
            def _check() -> dg.AssetCheckResult:
                return dg.AssetCheckResult(passed=True)

            checks.append(dg.asset_check(asset=spec.key, name=f"check_{i}")(_check))
            keys.append(dg.AssetCheckKey(spec.key, f"check_{i}"))
    return dg.Definitions(assets=assets, asset_checks=checks), keys


def run_bench(n: int, workdir: Path) -> dict[str, object]:
    defs, keys = build_defs()
    db = workdir / "ops.sqlite"
    runtime = AlertRuntime(store_path=lambda: db, lookup=lambda roles, s: _Lookup(), env={})
    sensor = next(s for s in build_alert_sensors(runtime) if s.name == "alert_on_check_failures")
    instance = dg.DagsterInstance.ephemeral()
    repo = defs.get_repository_def()

    def tick(cursor):
        ctx = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor)
        started = time.perf_counter()
        sensor(ctx)
        return ctx.cursor, time.perf_counter() - started

    cursor, _ = tick(None)  # the sensor has been running: cursor established, nothing to do
    severities = Counter()
    for i in range(n):
        key = keys[i % len(keys)]
        sev = dg.AssetCheckSeverity.WARN if (i // len(keys)) % 5 == 4 else dg.AssetCheckSeverity.ERROR
        severities[sev.value] += 1
        instance.report_runless_asset_event(AssetCheckEvaluation(
            asset_key=key.asset_key, check_name=key.name, passed=False, metadata={}, severity=sev,
            description=f"bench failure {i}"))
    cursor, loaded_s = tick(cursor)
    _, idle_s = tick(cursor)
    with IncidentStore.open(db) as store:
        incidents = store.list(None, limit=10_000)
        events = store.events()
        outbox = store.outbox()
    per_key = Counter((i.pipeline, i.kind.value) for i in incidents)
    return {
        "evaluations": n, "check_keys": len(keys), "pipelines": len(pipeline_config().pipelines),
        "severities": dict(severities), "incidents": len(incidents),
        "max_incidents_per_pipeline_and_kind": max(per_key.values()) if per_key else 0,
        "occurrences_recorded": sum(i.occurrences for i in incidents),
        "deliveries": sum(1 for e in events if e.event in ("page", "notify", "role")),
        "outbox_rows": len(outbox), "tick_seconds": round(loaded_s, 3), "idle_tick_seconds": round(idle_s, 3),
        "incident_table": sorted(f"{p}/{k}: {c}" for (p, k), c in per_key.items()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--evaluations", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        r = run_bench(args.evaluations, Path(tmp))
    lines = [
        "# scripts/bench_alert_tick.py: failing check evaluations -> one alert_on_check_failures tick",
        f"# machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}, "
        f"dagster {dg.__version__}, ephemeral instance, DuckDB incident store",
        *(f"{k}: {v}" for k, v in r.items() if k != "incident_table"),
        "incidents by pipeline/kind:",
        *(f"  {row}" for row in r["incident_table"]),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    ok = r["max_incidents_per_pipeline_and_kind"] <= 1 and r["occurrences_recorded"] == r["evaluations"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
