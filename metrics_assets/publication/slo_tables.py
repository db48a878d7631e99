"""The SLO ops tables, rebuilt from what publication records: `ops.slo_daily` (per investor table
and day: deadline, first publication, lag, on time, published, drift) and `ops.slo_attainment` (per
table and objective over its window: attainment, error budget left, burn rate).

They live in the warehouse so a BI tool reads the same numbers as `metrics status`. Imports no
Dagster: the status command reads them through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from checks.relations import relation
from metrics_core.config import InvestorTable, PipelineConfig, require_daily
from metrics_core.slo import Attainment, DayJudgement, DayRecord, attainment, daily_deadline, judge

if TYPE_CHECKING:  # the Dagster resource; `metrics status` connects without it
    from resources.warehouse import Warehouse

TRIGGERS_DDL = """
create table if not exists ops.run_triggers (run_id varchar, trigger varchar, recorded_at timestamp)
"""
DAILY_DDL = """
create table if not exists ops.slo_daily (
    pipeline varchar, investor_table varchar, day date, deadline timestamp,
    first_published_at timestamp, first_trigger varchar, lag_minutes double, due boolean,
    on_time boolean, published boolean, max_drift_pp double, accurate boolean, as_of timestamp,
    published_rows bigint, source_rows bigint
)
"""
# tables made before rows were counted gain the two columns (appended, so inserts stay positional)
DAILY_MIGRATION = (
    "alter table ops.slo_daily add column if not exists published_rows bigint",
    "alter table ops.slo_daily add column if not exists source_rows bigint",
)
ATTAINMENT_DDL = """
create table if not exists ops.slo_attainment (
    pipeline varchar, investor_table varchar, objective varchar, window_days integer, target double,
    judged integer, good integer, attainment double, budget_days double, budget_remaining double,
    burn_rate double, met boolean, as_of timestamp
)
"""
TABLES = ("ops.run_triggers", "ops.slo_daily", "ops.slo_attainment")


def trigger_of(tags: dict[str, str]) -> str:
    """schedule | backfill | manual, from a Dagster run's tags."""
    if "dagster/schedule_name" in tags:
        return "schedule"
    if "dagster/backfill" in tags:
        return "backfill"
    return "manual"


def ensure_tables(cur: Any) -> None:
    cur.execute("create schema if not exists ops")
    for ddl in (TRIGGERS_DDL, DAILY_DDL, *DAILY_MIGRATION, ATTAINMENT_DDL):
        cur.execute(ddl)


def record_trigger(cur: Any, run_id: str, trigger: str, at: datetime) -> None:
    """Remember how run `run_id` was launched (once per run): freshness counts scheduled runs only."""
    cur.execute("select 1 from ops.run_triggers where run_id = ?", [run_id])
    if not cur.fetchall():
        cur.execute("insert into ops.run_triggers values (?, ?, ?)", [run_id, trigger, at])


def _has(cur: Any, table: str) -> bool:
    schema, name = table.split(".")
    cur.execute("select 1 from information_schema.tables where lower(table_schema) = ? "
                "and lower(table_name) = ?", [schema, name])
    return bool(cur.fetchall())


def _day(v: Any) -> date:
    return v.date() if isinstance(v, datetime) else v


def day_records(
    cur: Any, target: str, spec: InvestorTable, cfg: PipelineConfig, now: datetime
) -> list[DayRecord]:
    """One record per day of `target` from the first day any window covers (or the first logged
    day, if earlier) up to the day before `now`."""
    d = require_daily(cfg.get(spec.pipeline), f"the freshness SLO of investor table {target}")
    first: dict[date, tuple[datetime, str]] = {}
    if _has(cur, "ops.publication_log"):
        trig = "t.trigger" if _has(cur, "ops.run_triggers") else "null"
        join = "left join ops.run_triggers t on t.run_id = l.run_id" if trig != "null" else ""
        cur.execute(
            f"select l.unit, l.logged_at, {trig} from ops.publication_log l {join} "
            "where l.investor_table = ? and l.action = 'published' and l.logged_at <= ?",
            [target, now],
        )
        for unit, at, trig in cur.fetchall():
            u = _day(unit)
            if u not in first or at < first[u][0]:
                first[u] = (at, trig or "manual")
    drift: dict[date, float] = {}
    if _has(cur, "ops.publication_drift"):
        cur.execute(
            "select unit, max(net_rel_diff) * 100 from ops.publication_drift "
            "where investor_table = ? and net_rel_diff is not null group by unit",
            [target],
        )
        drift = {_day(u): float(v) for u, v in cur.fetchall()}
    def rows_by_day(rel: str) -> dict[date, int]:
        if not _has(cur, rel):
            return {}
        c = spec.day_column
        cur.execute(f"select {c}, count(*) from {rel} group by 1")
        return {_day(d): int(n) for d, n in cur.fetchall()}

    published_rows, source_rows = rows_by_day(target), rows_by_day(relation(spec.model))
    longest = max(spec.slo.freshness.window_days, spec.slo.completeness.window_days,
                  spec.slo.accuracy.window_days)
    start = min([now.date() - timedelta(days=longest + 1), *first])
    start = max(start, cfg.partitions_start_date)
    out = []
    day = start
    while day < now.date():
        at, trig = first.get(day, (None, None))
        out.append(DayRecord(day, daily_deadline(day, d.deadline_cron, d.timezone), at, trig, drift.get(day),
                             published_rows.get(day, 0) if at is not None else None, source_rows.get(day)))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class TableSlo:
    """One investor table's SLO state as of a moment: its days, judged, and each objective's window."""

    pipeline: str
    table: str  # schema-qualified
    records: list[DayRecord]
    judged: list[DayJudgement]
    attainments: list[Attainment]


def evaluate(cur: Any, cfg: PipelineConfig, now: datetime, schema: str = "investor",
             tables: list[str] | None = None) -> list[TableSlo]:
    """The SLO state of `tables` (default: every daily investor table) as of `now`; reads only."""
    out = []
    for name, spec in cfg.investor_tables.items():
        if not spec.has_daily_slo or (tables is not None and name not in tables):
            continue
        target = f"{schema}.{name}"
        records = day_records(cur, target, spec, cfg, now)
        judged = [judge(r, spec.slo, now) for r in records]
        out.append(TableSlo(spec.pipeline, target, records, judged, attainment(judged, spec.slo, now)))
    return out


def refresh(warehouse: Warehouse, cfg: PipelineConfig, now: datetime, schema: str = "investor",
            tables: list[str] | None = None, run: tuple[str, str] | None = None) -> list[TableSlo]:
    """Rebuild the rows of ops.slo_daily and ops.slo_attainment of `tables` as of `now`, after
    recording `run` (run id, trigger) in ops.run_triggers; one connection for both."""
    with warehouse.connect() as con:
        cur = con.cursor()
        ensure_tables(cur)
        if run is not None:
            record_trigger(cur, *run, now)
        states = evaluate(cur, cfg, now, schema, tables)
        for st in states:
            daily_rows = [
                (st.pipeline, st.table, r.day, r.deadline, r.first_published_at, r.first_trigger,
                 j.lag_minutes, j.due, j.on_time, j.published, r.max_drift_pp, j.accurate, now,
                 r.published_rows, r.source_rows)
                for r, j in zip(st.records, st.judged, strict=True)
            ]
            cur.execute("begin transaction")
            cur.execute("delete from ops.slo_daily where investor_table = ?", [st.table])
            cur.execute("delete from ops.slo_attainment where investor_table = ?", [st.table])
            if daily_rows:
                marks = ", ".join("?" * len(daily_rows[0]))
                cur.executemany(f"insert into ops.slo_daily values ({marks})", daily_rows)
            cur.executemany(
                "insert into ops.slo_attainment values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(st.pipeline, st.table, a.objective, a.window_days, a.target, a.judged, a.good,
                  a.attainment, a.budget_days, a.budget_remaining, a.burn_rate, a.met, now)
                 for a in st.attainments],
            )
            cur.execute("commit")
    return states
