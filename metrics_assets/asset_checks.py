"""Every catalogue check as a Dagster asset check on the asset where its fault first shows.

The checks of a pipeline are evaluated in two steps, not one step each: one `@multi_asset_check`
over its raw sources and one over its dbt models (the models are built in one step, so no check
waits longer than before; every check keeps its own key, blocking flag, runbook and result, and a
UI launch of a few checks evaluates only those: `can_subset`). Before, each of the ~40 checks of
a daily run was its own step, and the per-step orchestration (events, a new connection) cost more
than the SQL (BENCHMARKS.md, "Checks overhead").

Checks are plain (not partitioned) asset checks: in 1.13.27 a partitioned check given a
single-run backfill range records ONE evaluation with partition=None (verified in
dagster/_core/definitions/asset_checks/asset_check_result.py), so instead each check reads the
run's window (one partition key or the range tags), evaluates every day, fails if any day
fails and names those days; the per-day outcomes go to ops.check_history.
"""

from datetime import date, timedelta
from typing import Any

import dagster as dg

from checks import history
from checks.core import CheckOutcome, evaluate
from checks.registry import Catalogue, CheckDef, Severity, catalogue
from metrics_assets.publication.hook import log_stopped_publication
from metrics_core.run_clock import last_complete_day, run_now
from resources.warehouse import POOL, Warehouse

MAX_LISTED_DAYS = 20


def run_days(context: dg.AssetCheckExecutionContext) -> list[date]:
    """Days of the run: its partition, or every day of its single-run range; outside a
    partitioned run, the last complete UTC day at the run clock."""
    try:
        tw = context.partition_time_window
    except Exception:  # not a partitioned run (e.g. a manual check-only run)
        return [last_complete_day(run_now(context))]
    start, end = tw.start.date(), tw.end.date()
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _md_table(outcomes: list[CheckOutcome]) -> str:
    lines = ["| day | outcome | value | baseline | threshold | message |", "|---|---|---|---|---|---|"]
    for o in outcomes[:MAX_LISTED_DAYS]:
        msg = o.message.replace("|", "/")[:200]
        lines.append(
            f"| {o.day} | {o.status} | {_fmt(o.value)} | {_fmt(o.baseline)} | {_fmt(o.threshold)} | {msg} |"
        )
    if len(outcomes) > MAX_LISTED_DAYS:
        lines.append(f"| ... | {len(outcomes) - MAX_LISTED_DAYS} more days in ops.check_history | | | | |")
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


def check_key(check: CheckDef) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(check.asset_path), check.name)


def result_for(check: CheckDef, outcomes: list[CheckOutcome]) -> dg.AssetCheckResult:
    """One AssetCheckResult for the run's days: failed if any day failed, naming the days."""
    failed = [o for o in outcomes if o.failed]
    shown = failed[0] if failed else (outcomes[-1] if outcomes else None)
    meta: dict[str, Any] = {
        "failure_mode": check.failure_mode,
        "runbook": dg.MetadataValue.url(check.runbook_url),
        "severity": check.severity.value,
        "pipeline": check.pipeline,
        "days_evaluated": len(outcomes),
        "days_failed": len(failed),
        "days_skipped": sum(o.status == "skip" for o in outcomes),
    }
    if failed:
        meta["failed_days"] = ", ".join(str(o.day) for o in failed[:MAX_LISTED_DAYS]) + (
            f" (+{len(failed) - MAX_LISTED_DAYS} more)" if len(failed) > MAX_LISTED_DAYS else ""
        )
    if shown is not None:
        meta["day"] = str(shown.day)
        for k in ("value", "baseline", "threshold"):
            v = getattr(shown, k)
            if v is not None:
                meta[k] = float(v)
        meta["message"] = shown.message[:1000]
    if len(outcomes) > 1:
        meta["days"] = dg.MetadataValue.md(_md_table(failed or outcomes))
    description = (
        f"{len(failed)} of {len(outcomes)} day(s) failed: {meta['failed_days']}. {shown.message}"
        if failed and shown
        else (shown.message if shown else "no days to evaluate")
    )
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(check.asset_path),
        check_name=check.name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR
        if check.severity is Severity.ERROR
        else dg.AssetCheckSeverity.WARN,
        metadata=meta,
        description=description[:2000],
    )


def _spec(check: CheckDef) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        check.name,
        asset=dg.AssetKey(check.asset_path),
        blocking=check.blocking,
        description=(
            f"[{check.severity.value}] {check.title}: {check.validation}. Runbook: {check.runbook_url}"
        ),
        metadata={
            "failure_mode": check.failure_mode,
            "runbook": dg.MetadataValue.url(check.runbook_url),
            "severity": check.severity.value,
            "pipeline": check.pipeline,
        },
    )


def group_of(check: CheckDef) -> str:
    """The step a check is evaluated in: its pipeline's raw-source checks or its model checks."""
    layer = "raw" if check.asset_path[0] == "raw" else "models"
    return f"{check.pipeline}__{layer}_checks"


def build_check_step(name: str, checks: list[CheckDef]) -> dg.AssetChecksDefinition:
    """One step evaluating `checks` (those the launch selected), each yielding its own result."""
    by_key = {check_key(c): c for c in checks}

    @dg.multi_asset_check(
        name=name,
        specs=[_spec(c) for c in checks],
        can_subset=True,
        pool=POOL,
        description=f"{len(checks)} runbook checks of {checks[0].pipeline}, evaluated in one step",
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        days, now = run_days(context), run_now(context)
        selected = context.selected_asset_check_keys
        done: list[CheckOutcome] = []
        memo: dict = {}  # what two checks of this step both read is computed once (same window)
        with warehouse.session(name):  # one connection for the step's queries
            for key, check in by_key.items():
                if key not in selected:
                    continue
                outcomes = evaluate(check, warehouse, days, run_id=context.run.run_id, now=now, memo=memo)
                done += outcomes
                for o in outcomes:
                    if o.failed:
                        context.log.warning(f"{check.key} {o.day}: {o.status}: {o.message}")
                yield result_for(check, outcomes)
            history.append(warehouse, done)  # one write for the step's evaluations

    # a failed blocking check skips the investor steps below it: log their refusal
    return _checks.with_hooks({log_stopped_publication})


def build_asset_check(check: CheckDef) -> dg.AssetChecksDefinition:
    """One check in a step of its own (tests that put a single check on a small graph)."""
    return build_check_step(f"{check.asset_path[-1]}__{check.name}", [check])


def build_asset_checks(cat: Catalogue | None = None) -> list[dg.AssetsDefinition]:
    """Every catalogue check, grouped into one step per pipeline and layer (raw sources, models)."""
    groups: dict[str, list[CheckDef]] = {}
    for c in (cat or catalogue()).checks:
        groups.setdefault(group_of(c), []).append(c)
    return [build_check_step(name, checks) for name, checks in sorted(groups.items())]
