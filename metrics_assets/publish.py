"""Fail-closed publication of investor tables: write (dbt marts), audit (checks), publish.

An investor table (schema `investor`) receives a day only after every ERROR check of its
pipeline - on its marts and on the raw sources feeding them - passed for that day. The audit
reads ops.check_history for this run's evaluations and evaluates any gate check not yet run in
this run (so publication never depends on step order or trusts a stale pass). Allowed days are
copied in one transaction (delete + insert); refused days keep whatever was published before.
Re-publishing a closed period (before the current month, or older than the lookback) that is
already published needs the run tag `approved_by=<name>`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg

from checks import history
from checks.core import CheckOutcome, evaluate, utc_now
from checks.registry import catalogue
from checks.relations import relation
from checks.settings import InvestorTable, check_settings
from metrics_assets.config import pipeline_config
from metrics_assets.freshness import freshness_policy_for
from metrics_assets.partitions import DAILY, SINGLE_RUN, days_in, window_of
from resources.warehouse import POOL, Warehouse

NOT_AUDITED = "never evaluated"
PUBLICATION_COLUMNS = ("_published_run_id", "_published_at", "_approved_by")
LOG_DDL = """
create table if not exists ops.publication_log (
    investor_table varchar, unit date, action varchar, reason varchar,
    run_id varchar, approved_by varchar, logged_at timestamp
)
"""


@dataclass
class PublishReport:
    table: str
    published: list[date] = field(default_factory=list)
    refused: dict[date, str] = field(default_factory=dict)
    blocking: list[date] = field(default_factory=list)  # refused for a failed check or a closed period

    def metadata(self) -> dict[str, Any]:
        refused = "\n".join(f"- {d}: {why}" for d, why in sorted(self.refused.items())[:50])
        return {
            "published_units": len(self.published),
            "refused_units": len(self.refused),
            "published": ", ".join(str(d) for d in sorted(self.published)[:60]) or "(none)",
            "refused": dg.MetadataValue.md(refused or "(none)"),
        }


# ------------------------------------------------------------------------------- audit


def gate_status(
    warehouse: Warehouse, pipeline: str, days: list[date], run_id: str, *, now: datetime | None = None
) -> dict[date, list[str]]:
    """Per day of `days`, the failed or missing ERROR gates of `pipeline` (empty list = passed).

    Evaluations of this run come from ops.check_history; gates not yet evaluated in this run are
    evaluated now and appended, so the decision is always about the data as it is."""
    extra = check_settings().publication.extra_gate_assets.get(pipeline, [])
    gates = catalogue().gates_for(pipeline, extra)
    seen: dict[tuple[str, str, date], CheckOutcome | dict] = {}
    if run_id and days:
        with warehouse.connect() as con:
            history.ensure_table(con)
        rows = warehouse.query_df(
            f"select asset, check_name, partition_day, status, message from {history.TABLE} "
            "where run_id = ? and partition_day >= ? and partition_day <= ?",
            [run_id, min(days), max(days)],
        )
        for r in rows.to_dict("records"):
            seen[(r["asset"], r["check_name"], _d(r["partition_day"]))] = r
    fresh: list[CheckOutcome] = []
    for g in gates:
        missing = [d for d in days if (g.asset, g.name, d) not in seen]
        if missing:
            outs = evaluate(g, warehouse, missing, run_id=run_id, now=now)
            fresh.extend(outs)
            for o in outs:
                seen[(g.asset, g.name, o.day)] = {"status": o.status, "message": o.message}
    if fresh:
        history.append(warehouse, fresh)
    out: dict[date, list[str]] = {d: [] for d in days}
    for g in gates:
        for d in days:
            r = seen[(g.asset, g.name, d)]
            if r["status"] in ("fail", "error"):
                out[d].append(f"{g.asset}:{g.name} ({r['message'][:160]})")
    return out


def history_status(warehouse: Warehouse, pipeline: str, days: list[date]) -> dict[date, list[str]]:
    """Per earlier day (outside this run), failed or never-evaluated gates from any run's history."""
    extra = check_settings().publication.extra_gate_assets.get(pipeline, [])
    gates = catalogue().gates_for(pipeline, extra)
    out: dict[date, list[str]] = {d: [] for d in days}
    if not days:
        return out
    latest = history.latest(
        warehouse, [(g.asset, g.name) for g in gates], min(days), max(days) + timedelta(1)
    )
    got = {(r["asset"], r["check_name"], _d(r["partition_day"])): r for r in latest.to_dict("records")}
    for g in gates:
        for d in days:
            r = got.get((g.asset, g.name, d))
            if r is None:
                out[d].append(f"{g.asset}:{g.name} {NOT_AUDITED}")
            elif r["status"] in ("fail", "error"):
                out[d].append(f"{g.asset}:{g.name} failed")
    return out


def _d(v: Any) -> date:
    from checks.core import to_date

    return to_date(v)


# ------------------------------------------------------------------------------- publish


def _units(spec: InvestorTable, days: list[date]) -> dict[date, list[date]]:
    """Publication units (the table's key values) touched by `days`, each with the days it covers."""
    last = max(days)
    if spec.period == "day":
        return {
            d: [d + timedelta(i) for i in range(spec.depends_on_days_after + 1) if d + timedelta(i) <= last]
            for d in days
        }
    units: dict[date, list[date]] = {}
    for d in days:
        start = d.replace(day=1) if spec.period == "month" else date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
        units.setdefault(start, [])
    for start in units:
        months = 1 if spec.period == "month" else 3
        y, m = divmod(start.month - 1 + months, 12)
        end = date(start.year + y, m + 1, 1)
        units[start] = [start + timedelta(i) for i in range((min(end, last + timedelta(1)) - start).days)]
    return units


def _is_closed(covered: list[date], lookback_days: int, today: date) -> bool:
    """A unit is closed once its last day is before the current month or beyond the lookback."""
    last = max(covered)
    return last < today.replace(day=1) or last < today - timedelta(days=lookback_days)


def publish_table(
    warehouse: Warehouse,
    name: str,
    days: list[date],
    *,
    run_id: str = "",
    approved_by: str | None = None,
    now: datetime | None = None,
) -> PublishReport:
    """Audit and publish `days` of investor table `name` (config/checks.yaml publication.tables)."""
    cfg = check_settings().publication
    spec = cfg.tables[name]
    now = now or utc_now()
    target = f"{cfg.schema_}.{name}"
    model = relation(spec.model)
    report = PublishReport(target)
    units = _units(spec, days)
    in_run = gate_status(warehouse, spec.pipeline, days, run_id, now=now)
    earlier = sorted({d for cov in units.values() for d in cov} - set(days))
    before = history_status(warehouse, spec.pipeline, earlier)
    status = {**before, **in_run}
    lookback = pipeline_config().get(spec.pipeline).lookback_days

    with warehouse.connect() as con:
        cur = con.cursor()
        cur.execute(f"create schema if not exists {cfg.schema_}")
        cur.execute("create schema if not exists ops")
        cur.execute(LOG_DDL)
        cur.execute(
            f"create table if not exists {target} as select *, cast(null as varchar) as _published_run_id, "
            f"cast(null as timestamp) as _published_at, cast(null as varchar) as _approved_by "
            f"from {model} where 1 = 0"
        )
        cur.execute(f"select * from {model} where 1 = 0")
        cols = [d[0].lower() for d in cur.description]
        keys = list(units)
        marks = ", ".join(["?"] * len(keys))
        cur.execute(
            f"select {spec.day_column}, count(*) from {model} where {spec.day_column} in ({marks}) "
            "group by 1",
            keys,
        )
        model_rows = {_d(r[0]): int(r[1]) for r in cur.fetchall()}
        cur.execute(
            f"select distinct {spec.day_column} from {target} where {spec.day_column} in ({marks})", keys
        )
        published = {_d(r[0]) for r in cur.fetchall()}

        ok: list[date] = []
        for unit, covered in sorted(units.items()):
            failed_days = {d: why for d in covered if (why := status.get(d))}
            if failed_days:
                failed = {d: w for d, w in failed_days.items() if any(not x.endswith(NOT_AUDITED) for x in w)}
                first = min(failed or failed_days)
                what = "failed ERROR checks" if failed else "were never audited (not built or checked yet)"
                report.refused[unit] = (
                    f"{len(failed or failed_days)} day(s) {what}, first {first}: "
                    + "; ".join((failed or failed_days)[first][:3])
                )
                if failed:
                    report.blocking.append(unit)
            elif not model_rows.get(unit):
                report.refused[unit] = f"{spec.model} has no rows for {unit}"
            elif unit in published and _is_closed(covered, lookback, now.date()) and not approved_by:
                report.refused[unit] = (
                    f"{unit} is in a closed period and already published; re-publishing needs "
                    f"the run tag {cfg.closed_period.approval_tag}=<approver>"
                )
                report.blocking.append(unit)
            else:
                ok.append(unit)

        if ok:
            okm = ", ".join(["?"] * len(ok))
            collist = ", ".join(cols)
            cur.execute("begin transaction")
            try:
                cur.execute(f"delete from {target} where {spec.day_column} in ({okm})", ok)
                cur.execute(
                    f"insert into {target} ({collist}, {', '.join(PUBLICATION_COLUMNS)}) "
                    f"select {collist}, ?, ?, ? from {model} where {spec.day_column} in ({okm})",
                    [run_id, now, approved_by, *ok],
                )
                cur.execute("commit")
            except Exception:
                cur.execute("rollback")
                raise
            report.published = ok
        log = [(target, u, "published", "", run_id, approved_by, now) for u in ok]
        log += [
            (target, u, "refused", why[:1000], run_id, approved_by, now) for u, why in report.refused.items()
        ]
        if log:
            cur.executemany("insert into ops.publication_log values (?, ?, ?, ?, ?, ?, ?)", log)
    return report


# ------------------------------------------------------------------------------- assets


def _build(name: str, spec: InvestorTable) -> dg.AssetsDefinition:
    cfg = pipeline_config()
    pipeline = cfg.get(spec.pipeline)
    extra = check_settings().publication.extra_gate_assets.get(spec.pipeline, [])
    gate_models = sorted(
        {g.asset for g in catalogue().gates_for(spec.pipeline, extra) if not g.is_raw} | {spec.model}
    )
    sla = "monthly" if spec.period != "day" and pipeline.sla.monthly else "daily"
    tag = check_settings().publication.closed_period.approval_tag
    schema = check_settings().publication.schema_

    @dg.asset(
        pool=POOL,
        key=dg.AssetKey([schema, name]),
        group_name=spec.pipeline,
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        deps=[dg.AssetKey([m]) for m in gate_models],
        owners=[pipeline.owners.primary, pipeline.owners.secondary],
        kinds={"python", "duckdb"},
        tags={
            "pipeline": spec.pipeline,
            "audience": pipeline.audience.value,
            "domain": pipeline.domain,
            "layer": "investor",
        },
        metadata={
            "pipeline": spec.pipeline,
            "audience": pipeline.audience.value,
            "runbook": dg.MetadataValue.path(pipeline.runbook),
            "metric_definitions_version": cfg.metric_definitions_version,
            "owners_primary": pipeline.owners.primary,
            "owners_secondary": pipeline.owners.secondary,
            "dagster/table_name": f"{schema}.{name}",
            "source_model": spec.model,
            **({"grain_period": spec.period} if spec.period != "day" else {}),
        },
        freshness_policy=freshness_policy_for(pipeline, sla),
        description=(
            f"Investor-facing `{schema}.{name}` from `{spec.model}`: a day is published only after "
            f"every ERROR check of {spec.pipeline} passed for it (write, audit, publish); closed "
            f"periods need the run tag `{tag}`."
        ),
    )
    def _publish(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        start, end = window_of(context)
        report = publish_table(
            warehouse, name, days_in(start, end), run_id=context.run_id, approved_by=context.run.tags.get(tag)
        )
        for unit, why in sorted(report.refused.items()):
            context.log.warning(f"{report.table}: refused {unit}: {why}")
        if report.blocking and not report.published:
            raise dg.Failure(
                description=f"{report.table}: nothing published; refused {len(report.refused)} unit(s): "
                + "; ".join(f"{u}: {w}" for u, w in sorted(report.refused.items())[:5]),
                metadata=report.metadata(),
            )
        return dg.MaterializeResult(metadata=report.metadata())

    return _publish


PUBLISH_ASSETS: list[dg.AssetsDefinition] = [
    _build(name, spec) for name, spec in check_settings().publication.tables.items()
]
