"""The alert sensors: failed runs, asset check evaluations, freshness FAIL, and escalation.

Open-source Dagster alerts nobody when a non-blocking check fails or an asset goes stale, and
does not know owners. These sensors read the event log, map each failing asset to its pipeline
through `context.repository_def.asset_graph`, and hand the failures to the AlertEngine, which
opens one incident per (pipeline, kind, partition) and pages whoever is on call.
(No `from __future__ import annotations` here: Dagster inspects the context annotations.)
"""

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    ROOT_RUN_ID_TAG,
    WILL_RETRY_TAG,
)

from checks.settings import check_settings
from metrics_assets.alerting.engine import AlertEngine, TickReport
from metrics_assets.alerting.routing import AssetRouter
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_core.alerting_model import Failure, FailureKind, Incident, Recovery
from metrics_core.alerting_settings import alerting_settings
from metrics_core.slo import at_risk_day

_COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
_CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"


def _ts(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _run_partition(tags) -> str | None:
    if PARTITION_NAME_TAG in tags:
        return tags[PARTITION_NAME_TAG]
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        return f"{tags[ASSET_PARTITION_RANGE_START_TAG]}..{tags.get(ASSET_PARTITION_RANGE_END_TAG, '')}"
    return None


def _summary(context, name: str, rep: TickReport) -> str:
    text = (f"{name}: opened {len(rep.opened)} incident(s), attached {rep.attached}, "
            f"resolved {len(rep.resolved)}, delivered {len(rep.delivered)}")
    context.log.info(text)
    return text


def _route_failures(engine: AlertEngine, router: AssetRouter, key: dg.AssetKey | dg.AssetCheckKey,
                    kind: FailureKind, *, subject: str, at: datetime, partition, detail: str,
                    run_id=None, launch=None) -> list[Failure]:
    routes = router.routes(key)
    if not routes:
        engine.notify_unmapped(subject, kind, at, detail)
    return [Failure(pipeline=r.pipeline, kind=kind, subject=subject, at=at, partition=partition,
                    feeds_investor=r.feeds_investor, detail=detail, run_id=run_id, launch=launch)
            for r in routes]


# -- failed runs ------------------------------------------------------------------------------
def _status_records(instance, event_type, after: int | None, limit: int = 500):
    flt = dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after)
    return list(instance.fetch_run_status_changes(flt, limit=limit, ascending=True).records)


def _run_events(instance, run_id: str, event_type):
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=event_type).records]


def _failed_assets(instance, run) -> list[tuple[dg.AssetKey, str | None]]:
    """Planned minus materialized (asset, partition): failed steps and the assets they skipped."""
    default = _run_partition(run.tags)
    planned, done = set(), set()
    for e in _run_events(instance, run.run_id, DagsterEventType.ASSET_MATERIALIZATION_PLANNED):
        planned.add((e.dagster_event.asset_key, e.dagster_event.partition or default))
    for e in _run_events(instance, run.run_id, DagsterEventType.ASSET_MATERIALIZATION):
        done.add((e.dagster_event.asset_key, e.dagster_event.partition or default))
    failed = planned - done
    if not planned and run.asset_selection:
        failed = {(k, default) for k in run.asset_selection}
    return sorted(failed, key=lambda kp: (kp[0].to_user_string(), kp[1] or ""))


def _step_errors(instance, run_id: str) -> list[tuple[str, str, bool]]:
    """(error class, message, policy hold) of each failed step; a policy hold is a publication
    that refused by policy only (closed period without approval, day not over, short history)."""
    out = []
    for e in _run_events(instance, run_id, DagsterEventType.STEP_FAILURE):
        data = e.dagster_event.event_specific_data
        err = getattr(data, "error", None)
        meta = getattr(getattr(data, "user_failure_data", None), "metadata", None) or {}
        hold = getattr(meta.get("policy_hold"), "value", meta.get("policy_hold")) is True
        out.append((getattr(err, "cls_name", "") or "", (getattr(err, "message", "") or "").strip(), hold))
    return out


def _launch(tags) -> str | None:
    """What launched a run, for grouping: its backfill, else its root run (a re-execution joins it)."""
    return tags.get("dagster/backfill") or tags.get(ROOT_RUN_ID_TAG)


def _launcher(tags) -> str | None:
    """Who launched it, when a tag says (`launched_by`, or Dagster+'s `dagster/user`): an e-mail."""
    who = tags.get("launched_by") or tags.get("dagster/user") or ""
    return who.strip() if "@" in who else None


def _retry_succeeded(instance, root: str, after_run_id: str) -> bool:
    records = instance.get_run_records(
        dg.RunsFilter(tags={ROOT_RUN_ID_TAG: root}, statuses=[dg.DagsterRunStatus.SUCCESS])
    )
    return any(r.dagster_run.run_id != after_run_id for r in records)


def runs_tick(context, runtime: AlertRuntime) -> str:
    settings = runtime.settings()
    instance = context.instance
    cursor = json.loads(context.cursor) if context.cursor else {}
    after = cursor.get("sid")
    now = runtime.clock.now()
    since = None if after is not None else now - timedelta(minutes=settings.sensors.initial_lookback_minutes)
    recs = _status_records(instance, DagsterEventType.RUN_FAILURE, after)
    recs += _status_records(instance, DagsterEventType.RUN_SUCCESS, after)
    recs.sort(key=lambda r: r.storage_id)
    router = AssetRouter(context.repository_def.asset_graph, runtime.pipelines())
    rep = TickReport()
    with runtime.engine() as engine:
        for rec in recs:
            cursor["sid"] = max(cursor.get("sid", 0), rec.storage_id)
            if since is not None and _ts(rec.timestamp) < since:
                continue
            run = instance.get_run_by_id(rec.run_id)
            if run is None:
                continue
            root = run.tags.get(ROOT_RUN_ID_TAG, run.run_id)
            at = _ts(rec.timestamp)
            if rec.event_log_entry.dagster_event_type == DagsterEventType.RUN_SUCCESS:
                rep.merge(engine.resolve_runs({root, run.run_id}, at, f"run {run.run_id[:8]} succeeded"))
                recoveries = [
                    Recovery(r.pipeline, FailureKind.RUN_FAILURE, key.to_user_string(), at, partition)
                    for e in _run_events(instance, run.run_id, DagsterEventType.ASSET_MATERIALIZATION)
                    for key, partition in [(e.dagster_event.asset_key,
                                            e.dagster_event.partition or _run_partition(run.tags))]
                    for r in router.routes(key)
                ]
                rep.merge(engine.recover(recoveries))
                continue
            if run.tags.get(WILL_RETRY_TAG) == "true":
                context.log.info(f"run {run.run_id[:8]} failed and will be retried; waiting for the retry")
                continue
            if _retry_succeeded(instance, root, run.run_id):
                context.log.info(f"run {run.run_id[:8]} failed but a retry of it already succeeded")
                continue
            errors = _step_errors(instance, run.run_id)
            launch = _launch(run.tags) or run.run_id
            if errors and all(cls == _CHECK_FAILED_ERROR or hold for cls, _, hold in errors):
                # A blocking ERROR check stopped the run: the check sensor owns that incident. A
                # publication refused by policy only is a notice to the launcher, not a page.
                holds = [m for _, m, hold in errors if hold]
                for pid in sorted({r.pipeline for key, _ in _failed_assets(instance, run)
                                   for r in router.routes(key)} if holds else ()):
                    engine.notify_launcher(pipeline=pid, launch=launch, launcher=_launcher(run.tags),
                                           subject=f"run {run.run_id[:8]}", at=at, detail=holds[0][:1000])
                context.log.info(f"run {run.run_id[:8]} failed on a blocking check or a policy refusal")
                continue
            detail = "; ".join(f"{c}: {m}" for c, m, _ in errors)[:500] or "run failed"
            failures = []
            for key, partition in _failed_assets(instance, run):
                failures += _route_failures(engine, router, key, FailureKind.RUN_FAILURE,
                                            subject=key.to_user_string(), at=at, partition=partition,
                                            detail=f"run {run.run_id[:8]}: {detail}", run_id=root,
                                            launch=launch)
            rep.merge(engine.report(failures))
    context.update_cursor(json.dumps(cursor))
    return _summary(context, "runs", rep)


# -- asset checks -----------------------------------------------------------------------------
def _new_check_records(storage, key, latest, last: int | None, page: int):
    """Completed evaluations of one check newer than `last` (only the latest on a first tick)."""
    if last is None:
        return [latest] if latest.status in _COMPLETED else []
    out, before = [], None
    while True:
        batch = storage.get_asset_check_execution_history(key, limit=page, cursor=before)
        fresh = [r for r in batch if r.id > last]
        out += fresh
        if len(batch) < page or len(fresh) < len(batch):
            break
        before = batch[-1].id
    return out


def _check_cursor(seen: dict, ks: str, has_cursor: bool) -> tuple[int, list[int]] | None:
    """(highest completed evaluation id handled, ids still planned then) of one check key; None on
    the very first tick. An int is the cursor format of earlier releases."""
    state = seen.get(ks)
    if state is None:
        return (0, []) if has_cursor else None
    if isinstance(state, int):
        return state, []
    return int(state[0]), [int(i) for i in state[1]]


def checks_tick(context, runtime: AlertRuntime) -> str:
    settings = runtime.settings()
    instance = context.instance
    storage = instance.event_log_storage
    graph = context.repository_def.asset_graph
    seen: dict = json.loads(context.cursor) if context.cursor else {}
    keys = sorted(graph.asset_check_keys, key=lambda k: k.to_user_string())
    latest = storage.get_latest_asset_check_execution_by_key(keys) if keys else {}
    router = AssetRouter(graph, runtime.pipelines())
    by_subject: dict[tuple, list] = defaultdict(list)
    for key, rec in latest.items():
        ks = key.to_user_string()
        # first tick ever: only the latest evaluation; a check added later: its whole history.
        # Each completed evaluation is handed on once (occurrences count only new evaluations);
        # one still planned is looked at again until it completes.
        state = _check_cursor(seen, ks, bool(context.cursor))
        if state is None:
            recs = [rec] if rec.status in _COMPLETED else []
            done_max, waiting = 0, []
        else:
            done_max, waiting = state
            if rec.id <= done_max and not waiting:
                continue
            floor = min([done_max, *(i - 1 for i in waiting)])
            recs = _new_check_records(storage, key, rec, floor, settings.sensors.check_history_page)
            recs = [r for r in recs if r.id > done_max or r.id in waiting]
        done = [r for r in recs if r.status in _COMPLETED and r.evaluation is not None]
        planned = sorted(r.id for r in recs if r.status not in _COMPLETED)
        seen[ks] = [max([done_max, *(r.id for r in done)]), planned]
        for r in done:
            by_subject[(key, r.partition)].append(r)
    runs: dict[str, object] = {}

    def run_tags(run_id: str | None) -> dict:
        if not run_id:
            return {}
        if run_id not in runs:
            run = instance.get_run_by_id(run_id)
            runs[run_id] = dict(run.tags) if run else {}
        return runs[run_id]  # type: ignore[return-value]

    failures, recoveries = [], []
    with runtime.engine() as engine:
        for (key, partition), recs in by_subject.items():
            recs.sort(key=lambda r: r.id)
            last = recs[-1]
            subject = key.to_user_string()
            if last.evaluation.passed:
                at = _ts(last.event.timestamp)
                for r in router.routes(key):
                    recoveries += [Recovery(r.pipeline, k, subject, at, partition)
                                   for k in (FailureKind.CHECK_ERROR, FailureKind.CHECK_WARN)]
                continue
            for rec in recs:
                ev = rec.evaluation
                if ev.passed:
                    continue
                at, tags = _ts(rec.event.timestamp), run_tags(rec.run_id)
                launch = _launch(tags) or rec.run_id or None
                detail = ev.description or f"check {key.name} failed ({ev.severity.value})"
                hold = ev.metadata.get("policy_hold")
                if getattr(hold, "value", hold) is True and ev.severity == dg.AssetCheckSeverity.WARN:
                    for r in router.routes(key):  # held back by policy: the launcher hears, nobody is paged
                        engine.notify_launcher(pipeline=r.pipeline, launch=launch or subject,
                                               launcher=_launcher(tags), subject=subject, at=at,
                                               detail=detail)
                    continue
                kind = (FailureKind.CHECK_ERROR if ev.severity == dg.AssetCheckSeverity.ERROR
                        else FailureKind.CHECK_WARN)
                failures += _route_failures(engine, router, key, kind, subject=subject, at=at,
                                            partition=partition, detail=detail, run_id=rec.run_id or None,
                                            launch=launch)
        rep = engine.report(failures).merge(engine.recover(recoveries))
    context.update_cursor(json.dumps(seen))
    return _summary(context, "checks", rep)


# -- freshness --------------------------------------------------------------------------------
def freshness_tick(context, runtime: AlertRuntime) -> str:
    graph = context.repository_def.asset_graph
    last: dict = json.loads(context.cursor) if context.cursor else {}
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy is not None]
    records = context.instance.get_freshness_state_records(keys) if keys else {}
    router = AssetRouter(graph, runtime.pipelines())
    failures, recoveries = [], []
    with runtime.engine() as engine:
        for key, rec in records.items():
            ks, state = key.to_user_string(), rec.freshness_state.value
            at = rec.updated_at if rec.updated_at.tzinfo else rec.updated_at.replace(tzinfo=UTC)
            if state == "FAIL" and last.get(ks) != "FAIL":
                failures += _route_failures(engine, router, key, FailureKind.FRESHNESS, subject=ks, at=at,
                                            partition=None, detail="freshness policy FAIL (missed its SLA)")
            elif state != "FAIL" and last.get(ks) == "FAIL":
                recoveries += [Recovery(r.pipeline, FailureKind.FRESHNESS, ks, at)
                               for r in router.routes(key)]
            last[ks] = state
        rep = engine.report(failures).merge(engine.recover(recoveries))
    context.update_cursor(json.dumps(last))
    return _summary(context, "freshness", rep)


# -- SLA at risk ------------------------------------------------------------------------------
def published_in_event_log(instance, key: dg.AssetKey, day) -> bool:
    """Did a materialization of investor table `key` for `day` publish it? (its `published` metadata)"""
    flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()])
    for rec in instance.fetch_materializations(flt, limit=20).records:
        meta = rec.asset_materialization.metadata if rec.asset_materialization else {}
        value = meta.get("published")
        if day.isoformat() in str(getattr(value, "value", value) or ""):
            return True
    return False


def sla_at_risk_tick(context, runtime: AlertRuntime) -> str:
    """Each daily investor table whose day is not published `at_risk_minutes` before its deadline
    opens an sla_at_risk incident (owners notified); its publication resolves it."""
    cfg = runtime.pipelines()
    schema = check_settings().publication.schema_
    now = runtime.clock.now()
    naive = now.astimezone(UTC).replace(tzinfo=None)
    open_: dict[str, list[str]] = json.loads(context.cursor) if context.cursor else {}
    failures, recoveries, still = [], [], {}
    for name, spec in cfg.investor_tables.items():
        if not spec.has_daily_slo:
            continue
        key, subject = dg.AssetKey([schema, name]), f"{schema}/{name}"
        sla = cfg.get(spec.pipeline).sla.daily
        lead = spec.slo.freshness.at_risk_minutes
        day, deadline = at_risk_day(naive, sla.deadline_cron, sla.timezone, lead)
        days = sorted(set(open_.get(subject, [])) | {day.isoformat()})
        for d in days:
            if published_in_event_log(context.instance, key, date.fromisoformat(d)):
                if d in open_.get(subject, []):
                    recoveries.append(Recovery(spec.pipeline, FailureKind.SLA_AT_RISK, subject, now, d))
                continue
            still.setdefault(subject, []).append(d)
            if d not in open_.get(subject, []):
                why = f"{schema}.{name} for {d} is not published {lead:g} min before its deadline"
                failures.append(Failure(pipeline=spec.pipeline, kind=FailureKind.SLA_AT_RISK, subject=subject,
                                        at=now, partition=d, feeds_investor=True,
                                        detail=f"{why} ({deadline:%Y-%m-%d %H:%M} UTC)"))
    with runtime.engine() as engine:
        rep = engine.report(failures).merge(engine.recover(recoveries))
    context.update_cursor(json.dumps(still))
    return _summary(context, "sla_at_risk", rep)


# -- escalation -------------------------------------------------------------------------------
def _recovered_probe(instance):
    """Has everything an incident complains about become healthy? (re-check before a deferred page)"""

    def probe(inc: Incident) -> bool:
        for subject, day in inc.items or [(s, inc.partition) for s in inc.subjects]:
            if inc.kind in (FailureKind.CHECK_ERROR, FailureKind.CHECK_WARN):
                asset, _, name = subject.rpartition(":")
                check = dg.AssetCheckKey(dg.AssetKey.from_user_string(asset), name)
                flt = PartitionKeyFilter(key=day) if day else None
                rec = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                    [check], partition_filter=flt).get(check)
                if rec is None or rec.evaluation is None or not rec.evaluation.passed:
                    return False
            elif inc.kind is FailureKind.SLA_AT_RISK:
                if not (day and published_in_event_log(
                        instance, dg.AssetKey.from_user_string(subject), date.fromisoformat(day))):
                    return False
            elif inc.kind is FailureKind.FRESHNESS:
                key = dg.AssetKey.from_user_string(subject)
                rec = instance.get_freshness_state_records([key]).get(key)
                if rec is None or rec.freshness_state.value == "FAIL":
                    return False
            else:
                flt = dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string(subject),
                                            asset_partitions=[day] if day else None)
                recs = instance.fetch_materializations(flt, limit=1).records
                if not recs or _ts(recs[0].timestamp) <= inc.opened_at:
                    return False
        return True

    return probe


def escalation_tick(context, runtime: AlertRuntime) -> str:
    with runtime.engine() as engine:
        rep = engine.advance(_recovered_probe(context.instance))
    return _summary(context, "escalation", rep)


# -- definitions ------------------------------------------------------------------------------
def build_alert_sensors(runtime: AlertRuntime | None = None) -> list[dg.SensorDefinition]:
    """The five alert sensors, running by default; `runtime` injects clock, store and lookup."""
    rt = runtime or AlertRuntime()
    interval = alerting_settings().sensors.minimum_interval_seconds

    def make(name: str, tick, key: str, description: str) -> dg.SensorDefinition:
        @dg.sensor(name=name, minimum_interval_seconds=interval[key], description=description,
                   default_status=dg.DefaultSensorStatus.RUNNING)
        def _sensor(context: dg.SensorEvaluationContext):
            return dg.SkipReason(tick(context, rt))

        return _sensor

    return [
        make("alert_on_failed_runs", runs_tick, "runs",
             "Failed runs -> incidents for the pipelines of the assets planned but not materialized."),
        make("alert_on_check_failures", checks_tick, "checks",
             "Asset check evaluations: ERROR pages (investor 24x7), WARN notifies the owner."),
        make("alert_on_freshness_failures", freshness_tick, "freshness",
             "Freshness policies going to FAIL -> incidents; back to PASS resolves them."),
        make("alert_on_sla_at_risk", sla_at_risk_tick, "sla_at_risk",
             "Daily investor tables not published `at_risk_minutes` before their deadline -> notify "
             "the owner; publication resolves it."),
        make("escalate_open_incidents", escalation_tick, "escalation",
             "Advances open incidents along the escalation ladder; re-checks deferred ones."),
    ]
