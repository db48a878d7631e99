"""`metrics checks run`: every runbook check for a day or a range on the current warehouse.

Headless CI entry point: nothing is materialized, the same implementations as the Dagster asset
checks run (checks.core.run_all_checks), a JSON and a JUnit XML report are written, and the exit
code is 1 when any ERROR check failed on any day (2 when the arguments or config are invalid).
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.core import CheckOutcome

# The check engine (checks.core: pandas, duckdb, dagster via the warehouse), the registry and the
# history are imported when `checks run` runs, not here: `register()` builds argparse only, so
# `metrics checks --help` stays well under 0.5 s. `run_all_checks` stays a module attribute
# (resolved on first access, below) so callers and tests can still replace it.


def __getattr__(name: str) -> Any:
    """PEP 562: `run_all_checks` is imported on first access and then cached as a global."""
    if name == "run_all_checks":
        # deferred: checks.core imports pandas and duckdb; only `checks run` needs it
        from checks.core import run_all_checks

        globals()[name] = run_all_checks
        return run_all_checks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(checks: argparse.ArgumentParser) -> None:
    csub = checks.add_subparsers(dest="checks_command", required=True)
    p = csub.add_parser("run", help="run all checks for a day or range; JSON + JUnit report; exit 1 on ERROR")
    p.add_argument("--start", type=date.fromisoformat, required=True, help="first day (UTC, YYYY-MM-DD)")
    p.add_argument(
        "--end", type=date.fromisoformat, default=None, help="last day, inclusive (default: --start)"
    )
    p.add_argument(
        "--report-dir", type=Path, default=None, help="write checks.json and checks-junit.xml here"
    )
    p.add_argument(
        "--pipeline", action="append", default=None, help="only checks of this pipeline (repeatable)"
    )
    p.add_argument("--check", action="append", default=None, help="only this check name (repeatable)")
    p.add_argument("--no-history", action="store_true", help="do not append to ops.check_history")
    p.add_argument(
        "--now",
        default=None,
        help="judge freshness as of this UTC instant, like the run tag metrics/now "
        "(e.g. 2026-10-02T06:00:00Z; default: the wall clock)",
    )
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    # The registry, the check engine and the warehouse (pandas, duckdb, dagster) are needed by the
    # command only, not by `register()` / --help.
    # deferred: heavy (pandas, duckdb, dagster); `metrics checks --help` must stay light
    from checks import history
    from checks.core import utc_now
    from checks.registry import catalogue
    from metrics_core.config import ConfigError
    from metrics_core.run_clock import RunClockError, parse_now
    from resources.warehouse import Warehouse

    run_all_checks = sys.modules[__name__].run_all_checks  # a replaced one wins
    end = args.end or args.start
    if end < args.start:
        print(f"--end {end} is before --start {args.start}", file=sys.stderr)
        return 2
    try:
        selected = [
            c
            for c in catalogue().checks
            if (not args.pipeline or c.pipeline in args.pipeline) and (not args.check or c.name in args.check)
        ]
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not selected:
        print("no check matches --pipeline/--check", file=sys.stderr)
        return 2
    try:
        now = parse_now(args.now) if args.now is not None else None
    except RunClockError as exc:
        print(f"--now: {exc}", file=sys.stderr)
        return 2
    run_id = f"ci-{utc_now():%Y%m%dT%H%M%S}"
    warehouse = Warehouse.from_env()
    outcomes = run_all_checks(
        warehouse, args.start, end + timedelta(days=1), run_id=run_id, checks=selected, now=now
    )
    if not args.no_history:
        history.append(warehouse, outcomes)
    report = build_report(outcomes, args.start, end, run_id)
    if args.report_dir:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        (args.report_dir / "checks.json").write_text(json.dumps(report, indent=2, default=str))
        write_junit(outcomes, args.report_dir / "checks-junit.xml")
    print(render_summary(report))
    return 1 if report["summary"]["error_failures"] else 0


def _by_check(outcomes: list[CheckOutcome]) -> dict[tuple[str, str], list[CheckOutcome]]:
    grouped: dict[tuple[str, str], list[CheckOutcome]] = defaultdict(list)
    for o in outcomes:
        grouped[(o.asset, o.check)].append(o)
    return grouped


def build_report(outcomes: list[CheckOutcome], start: date, end: date, run_id: str) -> dict[str, Any]:
    checks = []
    for (asset, name), outs in sorted(_by_check(outcomes).items()):
        failed = [o for o in outs if o.failed]
        first = outs[0]
        checks.append(
            {
                "asset": asset,
                "check": name,
                "failure_mode": first.failure_mode,
                "pipeline": first.pipeline,
                "severity": first.severity,
                "runbook": first.runbook,
                "days": len(outs),
                "days_failed": len(failed),
                "days_skipped": sum(o.status == "skip" for o in outs),
                "failed_days": [str(o.day) for o in failed],
                "status": "fail" if failed else "pass",
            }
        )
    check_days = len(outcomes)
    warn_fail = sum(o.failed and o.severity == "WARN" for o in outcomes)
    return {
        "run_id": run_id,
        "start": str(start),
        "end": str(end),
        "summary": {
            "checks": len(checks),
            "check_days": check_days,
            "error_failures": sum(o.is_error_failure for o in outcomes),
            "warn_failures": warn_fail,
            "warn_rate": warn_fail / check_days if check_days else 0.0,
            "skipped": sum(o.status == "skip" for o in outcomes),
            "failed_checks": [f"{c['asset']}:{c['check']}" for c in checks if c["status"] == "fail"],
        },
        "checks": checks,
        "outcomes": [o.to_dict() for o in outcomes],
    }


def write_junit(outcomes: list[CheckOutcome], path: Path) -> None:
    """One testcase per check; an ERROR failure is a <failure> naming the days, a WARN is reported
    in <system-err> (CI should not go red on warnings)."""
    grouped = _by_check(outcomes)
    suite = ET.Element(
        "testsuite",
        name="metrics-checks",
        tests=str(len(grouped)),
        failures=str(sum(any(o.is_error_failure for o in v) for v in grouped.values())),
    )
    for (asset, name), outs in sorted(grouped.items()):
        first = outs[0]
        case = ET.SubElement(suite, "testcase", classname=asset.replace("/", "."), name=name)
        props = ET.SubElement(case, "properties")
        for k, v in (
            ("failure_mode", first.failure_mode),
            ("severity", first.severity),
            ("runbook", first.runbook),
            ("pipeline", first.pipeline),
        ):
            ET.SubElement(props, "property", name=k, value=v)
        failed = [o for o in outs if o.failed]
        if not failed:
            continue
        text = "\n".join(f"{o.day} {o.status}: {o.message}" for o in failed)
        days = ", ".join(str(o.day) for o in failed[:10]) + (" ..." if len(failed) > 10 else "")
        if first.severity == "ERROR":
            fail = ET.SubElement(
                case,
                "failure",
                type="ERROR",
                message=f"{len(failed)} day(s) failed: {days}; runbook {first.runbook}",
            )
            fail.text = text
        else:
            ET.SubElement(case, "system-err").text = f"WARN on {len(failed)} day(s): {days}\n{text}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def render_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        f"checks {report['start']}..{report['end']}: {s['checks']} checks, {s['check_days']} check-days, "
        f"{s['error_failures']} ERROR failures, {s['warn_failures']} WARN ({s['warn_rate']:.2%}), "
        f"{s['skipped']} skipped"
    ]
    for c in report["checks"]:
        if c["status"] == "fail":
            days = ", ".join(c["failed_days"][:5]) + (" ..." if len(c["failed_days"]) > 5 else "")
            lines.append(f"  {c['severity']:5s} {c['asset']}:{c['check']} on {days} -> {c['runbook']}")
    return "\n".join(lines)
