"""A failed step logs the investor publications it stops (fail closed, and say so).

When a raw asset, the dbt step or a blocking check fails, Dagster skips every step downstream of
it, the investor publish steps included, so they never get to log their refusal. This failure
hook (attached to the raw, dbt, check and publish definitions) finds, in the run's execution plan,
the investor publish steps downstream of the failed step and writes one `refused` row per unit of
the run's days into ops.publication_log, naming the step and the checks that failed.
"""

from datetime import date, timedelta

import dagster as dg

from metrics_core.config import pipeline_config

INVESTOR_STEP_PREFIX = "investor__"


def downstream_steps(plan_steps, failed_step: str) -> set[str]:
    """Keys of the steps that depend, directly or not, on `failed_step` in an execution plan."""
    children: dict[str, set[str]] = {}
    for step in plan_steps:
        for inp in step.inputs:
            for handle in inp.upstream_output_handles:
                children.setdefault(handle.step_key, set()).add(step.key)
    out: set[str] = set()
    todo = [failed_step]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def run_days(tags: dict[str, str]) -> list[date]:
    """The days of a run, from its partition or partition-range tags (empty when unpartitioned)."""
    start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    end = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    if not start or not end:
        return []
    lo, hi = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def stopped_tables(instance: dg.DagsterInstance, run_id: str, failed_step: str) -> list[str]:
    """Investor table names whose publish step is downstream of `failed_step` in this run."""

    run = instance.get_run_by_id(run_id)
    if run is None or not run.execution_plan_snapshot_id:
        return []
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    planned = set(plan.step_keys_to_execute or [s.key for s in plan.steps])
    below = downstream_steps(plan.steps, failed_step) & planned
    tables = pipeline_config().investor_tables
    return sorted(
        s[len(INVESTOR_STEP_PREFIX) :]
        for s in below
        if s.startswith(INVESTOR_STEP_PREFIX) and s[len(INVESTOR_STEP_PREFIX) :] in tables
    )


def _why(context: dg.HookContext) -> str:
    exc = context.op_exception
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "failed"
    return " ".join(text.split())[:600]


@dg.failure_hook(required_resource_keys={"warehouse"})
def log_stopped_publication(context: dg.HookContext) -> None:
    """Log `refused` for every investor unit of the run that the failed step keeps from publishing."""
    # deferred: publish.py puts this hook on its own assets, so it imports this module first
    from metrics_assets.publication.publish import log_refusals

    tables = stopped_tables(context.instance, context.run_id, context.step_key)
    run = context.instance.get_run_by_id(context.run_id)
    days = run_days(dict(run.tags) if run else {})
    if not tables or not days:
        return
    reason = f"stopped before publication: step {context.step_key} failed ({_why(context)})"
    n = log_refusals(context.resources.warehouse, tables, days, reason, run_id=context.run_id)
    context.log.warning(f"logged {n} refused investor unit(s) of {', '.join(tables)}: {reason}")
