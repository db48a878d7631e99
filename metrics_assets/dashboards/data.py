"""What the dashboards show, read once: the SLO ops tables, the latest check evaluations, the source
contracts and the schema changes they detected, open incidents and who is on call.

Reads only; every number a page prints comes from a row read here, so a test can read the same
tables and compare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from metrics_core.alerting_model import Incident
from metrics_core.config import PipelineConfig
from metrics_core.owners import owner_display, team_id
from metrics_core.sources import SOURCES, Source
from metrics_core.team import TeamConfig

SCHEMA_CHANGE_KINDS = (
    "missing_table",
    "missing_column",
    "renamed_column",
    "type_changed",
    "extra_column",
    "nullability_changed",
)


def _has(cur: Any, table: str) -> bool:
    schema, name = table.split(".")
    cur.execute(
        "select 1 from information_schema.tables where lower(table_schema) = ? and lower(table_name) = ?",
        [schema, name],
    )
    return bool(cur.fetchall())


def _dicts(cur: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur.execute(sql, params or [])
    names = [d[0].lower() for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _day(v: Any) -> date:
    return v.date() if isinstance(v, datetime) else v


@dataclass(frozen=True)
class OnCallNow:
    primary: str
    backup: str
    block_start: datetime
    block_end: datetime
    override: str | None


@dataclass(frozen=True)
class SchemaChange:
    """One schema difference a source-contract evaluation found: first and last seen, days hit."""

    source: str
    kind: str
    column: str | None
    diff: str
    first_seen: datetime
    last_seen: datetime
    days: int


@dataclass
class ContractView:
    source: Source
    last: dict[str, Any] | None  # the newest ops.check_history row of its source_contract check
    changes: list[SchemaChange] = field(default_factory=list)


@dataclass
class OpsData:
    now: datetime
    pipelines: PipelineConfig
    team: TeamConfig
    slo_daily: list[dict[str, Any]]
    slo_attainment: list[dict[str, Any]]
    latest_checks: list[dict[str, Any]]  # newest evaluation per (check, asset)
    contracts: list[ContractView]
    incidents: list[Incident]  # open ones
    oncall: OnCallNow | None
    oncall_problem: str | None  # why nobody could be named (no schedule for `now`)

    @property
    def as_of(self) -> datetime | None:
        stamps = [r["as_of"] for r in self.slo_daily if r["as_of"] is not None]
        return max(stamps) if stamps else None

    def days_of(self, table: str) -> list[dict[str, Any]]:
        return [r for r in self.slo_daily if r["investor_table"] == table]

    def attainment_of(self, table: str) -> list[dict[str, Any]]:
        return [r for r in self.slo_attainment if r["investor_table"] == table]

    def tables_of(self, pipeline: str) -> list[str]:
        return sorted({r["investor_table"] for r in self.slo_attainment if r["pipeline"] == pipeline})

    def failing_checks(self, pipeline: str) -> list[dict[str, Any]]:
        return [c for c in self.latest_checks if c["pipeline"] == pipeline and not c["passed"]]

    def incidents_of(self, pipeline: str) -> list[Incident]:
        return [i for i in self.incidents if i.pipeline == pipeline]

    def name_of(self, email: str) -> str:
        """A person's name, or a `team:<id>` owner expanded to its name and members."""
        if team_id(email) is not None:
            return owner_display(email, self.team)
        for p in self.team.people:
            if p.email == email:
                return p.name
        return email

    def owned_by(self, email: str) -> list[str]:
        return [
            pid
            for pid in self.pipelines.ids
            if email in (self.pipelines.get(pid).owners.primary, self.pipelines.get(pid).owners.secondary)
        ]


def fresh_now(days: list[dict[str, Any]], now: datetime) -> tuple[str, str]:
    """(state, text) of a table's newest due day: on_time | late | missing | backfill | none."""
    due = [r for r in days if r["due"]]
    if not due:
        return "none", "no day due yet"
    r = due[-1]
    if r["first_published_at"] is None:
        late = (now - r["deadline"]).total_seconds() / 60
        return "missing", f"{r['day']} not published, {late:.0f} min past its deadline"
    if r["first_trigger"] != "schedule":
        return "backfill", f"{r['day']} published by a {r['first_trigger']} run (not counted)"
    if r["on_time"]:
        lag = r["lag_minutes"]
        when = f"{-lag:.0f} min before" if lag < 0 else f"{lag:.0f} min after (within grace)"
        return "on_time", f"{r['day']} on time, {when} its deadline"
    return "late", f"{r['day']} late by {r['lag_minutes']:.0f} min"


def _latest_checks(cur: Any) -> list[dict[str, Any]]:
    if not _has(cur, "ops.check_history"):
        return []
    return _dicts(
        cur,
        """
        select check_name, asset, pipeline, severity, partition_day, status, passed, message,
               details, evaluated_at
        from ops.check_history
        qualify row_number() over (partition by check_name, asset
                                   order by evaluated_at desc, partition_day desc) = 1
        order by pipeline, asset, check_name""",
    )


def _contracts(cur: Any, sources: list[str]) -> list[ContractView]:
    views = {s: ContractView(SOURCES[s], None) for s in sources}
    if not _has(cur, "ops.check_history"):
        return list(views.values())
    rows = _dicts(
        cur,
        """
        select asset, partition_day, status, passed, message, details, evaluated_at, run_id
        from ops.check_history where check_name = 'source_contract'
        order by evaluated_at, partition_day""",
    )
    seen: dict[tuple[str, str, str | None, str], list[Any]] = {}
    for r in rows:
        src = r["asset"].split("/", 1)[-1]
        if src not in views:
            continue
        views[src].last = r
        for ch in json.loads(r["details"] or "{}").get("schema_changes", []):
            key = (src, ch["kind"], ch.get("column"), ch["message"])
            first, last, days = seen.get(key, (r["evaluated_at"], r["evaluated_at"], set()))
            days.add(_day(r["partition_day"]))
            seen[key] = [min(first, r["evaluated_at"]), max(last, r["evaluated_at"]), days]
    for (src, kind, col, diff), (first, last, days) in seen.items():
        views[src].changes.append(SchemaChange(src, kind, col, diff, first, last, len(days)))
    for v in views.values():
        v.changes.sort(key=lambda c: (c.first_seen, c.diff))
    return list(views.values())


def load(
    cur: Any,
    pipelines: PipelineConfig,
    team: TeamConfig,
    now: datetime,
    incidents: list[Incident],
    oncall: OnCallNow | None,
    oncall_problem: str | None = None,
) -> OpsData:
    """Everything the pages show, from one warehouse cursor plus the alerting store's incidents."""
    daily = (
        _dicts(cur, "select * from ops.slo_daily order by investor_table, day")
        if _has(cur, "ops.slo_daily")
        else []
    )
    for r in daily:
        r["day"] = _day(r["day"])
    att = (
        _dicts(cur, "select * from ops.slo_attainment order by investor_table, objective")
        if _has(cur, "ops.slo_attainment")
        else []
    )
    sources = sorted({s for pid in pipelines.ids for s in pipelines.get(pid).raw_sources})
    return OpsData(
        now,
        pipelines,
        team,
        daily,
        att,
        _latest_checks(cur),
        _contracts(cur, sources),
        [i for i in incidents if i.is_open],
        oncall,
        oncall_problem,
    )


def burn_down(days: list[dict[str, Any]], att: dict[str, Any], flag: str) -> list[tuple[date, float]]:
    """Budget left after each day of an objective's window, ending at ops.slo_attainment's figure:
    1 - misses so far / the window's allowed misses."""
    as_of = att["as_of"]
    first = as_of.date() - timedelta(days=att["window_days"])
    budget = (1 - att["target"]) * att["judged"]
    out, misses = [], 0
    for r in days:
        if not first <= r["day"] < as_of.date():
            continue
        if r[flag] is False:
            misses += 1
        if budget > 0:
            out.append((r["day"], 1 - misses / budget))
    return out


OBJECTIVE_FLAG = {"freshness": "on_time", "completeness": "published", "accuracy": "accurate"}
