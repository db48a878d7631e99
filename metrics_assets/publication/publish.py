"""Fail-closed publication of investor tables: write (dbt marts), audit (checks), publish, restate.

An investor table (schema `investor`) receives a day only when
  - the day is over at the run clock (metrics_core/run_clock.py; today and later are refused),
  - every ERROR check of its pipeline - on its marts and on the raw sources feeding them - passed
    for the day; a gate that failed, errored or could not be evaluated (skipped, e.g. too little
    history) refuses it, naming the check and why,
  - its inputs are complete by the pipeline's own measure (config/pipelines.yaml
    `publication.complete_when`: the cost lines and payments of its orders, its late events,
    have landed); until then it is `pending`.
Every run also re-audits the days of the lookback before its window (the days dbt restated):
a day whose audited values changed is re-published and each changed number is recorded in
ops.restatements (table, day, row, column, old, new, delta, run id); a day never published yet
(pending before) is published once it passes. Re-publishing a closed period (before the current
month, or older than the lookback) that is already published needs the run tag
`approved_by=<approver>` naming one of config/team.yaml `approvers`.

Month and quarter tables are not copied from their marts: they are aggregated from the PUBLISHED
daily rows (`derived_from`), so they always equal the sum of what investors see and change only
when those days do. ops.publication_drift keeps, per table, day, row and column, the first
published value and the latest value a rebuild computed. The accuracy SLO (the table's
`slo.accuracy.max_drift_pp`) is judged on that drift net of the table's declared late inputs
(`late_inputs`): a refund that lands days after its order's day restates profit by design (a
recorded restatement, not a computing error), while an FX, cost-table or rounding fault moves
revenue or cost and counts.
Every decision is a row of ops.publication_log: published, restated, pending or refused.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from checks import history
from checks.core import CheckOutcome, evaluate, num, to_date
from checks.registry import Catalogue, catalogue
from checks.relations import relation
from checks.settings import check_settings
from metrics_assets.orchestration.partitions import DAILY, SINGLE_RUN, days_in, window_of
from metrics_assets.publication import slo_tables
from metrics_assets.publication.hook import log_stopped_publication
from metrics_core.config import ConfigError, InvestorTable, PipelineConfig, pipeline_config
from metrics_core.run_clock import incomplete_days, last_complete_day, refusal_message, run_now, wall_clock
from metrics_core.team import load_team_config
from resources.warehouse import POOL, Warehouse

GATE_CHECK = "publication_gate"
NOT_AUDITED = "never evaluated"
PUBLICATION_COLUMNS = ("_published_run_id", "_published_at", "_approved_by")
NUMERIC_TYPES = ("DECIMAL", "NUMERIC", "NUMBER", "INT", "DOUBLE", "FLOAT", "REAL")
LOG_DDL = """
create table if not exists ops.publication_log (
    investor_table varchar, unit date, action varchar, reason varchar,
    run_id varchar, approved_by varchar, logged_at timestamp
)
"""
RESTATEMENTS_DDL = """
create table if not exists ops.restatements (
    investor_table varchar, unit date, row_key varchar, column_name varchar,
    old_value double, new_value double, delta double,
    run_id varchar, approved_by varchar, restated_at timestamp
)
"""
DRIFT_DDL = """
create table if not exists ops.publication_drift (
    investor_table varchar, unit date, row_key varchar, column_name varchar,
    first_value double, first_run_id varchar, first_published_at timestamp,
    latest_value double, latest_run_id varchar, latest_at timestamp,
    rel_diff double, slo_rel double, breached boolean,
    late_delta double, net_rel_diff double
)
"""
# tables made before the late-input split gain its two columns
DRIFT_MIGRATION = (
    "alter table ops.publication_drift add column if not exists late_delta double",
    "alter table ops.publication_drift add column if not exists net_rel_diff double",
)

# gate problems, by kind: a failed or errored check, a check that could not be evaluated, none yet
FAILED, UNEVALUABLE, UNAUDITED = "failed", "could not be evaluated", NOT_AUDITED


@dataclass(frozen=True)
class Problem:
    kind: str
    text: str


@dataclass(frozen=True)
class Restatement:
    unit: date
    row_key: str
    column: str
    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


@dataclass
class PublishReport:
    table: str
    published: list[date] = field(default_factory=list)  # first publications and re-publications
    restated: dict[date, list[Restatement]] = field(default_factory=dict)  # published with changes
    refused: dict[date, str] = field(default_factory=dict)
    blocking: list[date] = field(default_factory=list)  # refused: failed/unevaluable gate, closed, future
    failed_gates: list[date] = field(default_factory=list)  # refused because an ERROR gate failed
    pending: dict[date, str] = field(default_factory=dict)  # inputs still landing
    unchanged: list[date] = field(default_factory=list)  # re-audited lookback units, same values

    def metadata(self) -> dict[str, Any]:
        def md(items: dict[date, str]) -> dg.MetadataValue:
            return dg.MetadataValue.md(
                "\n".join(f"- {d}: {w}" for d, w in sorted(items.items())[:50]) or "(none)"
            )

        rows = [r for rs in self.restated.values() for r in rs]
        lines = ["| day | row | column | old | new | delta |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {r.unit} | {r.row_key or '-'} | {r.column} | {_f(r.old)} | {_f(r.new)} | {_f(r.delta)} |"
            for r in rows[:60]
        ]
        return {
            "published_units": len(self.published),
            "restated_units": len(self.restated),
            "pending_units": len(self.pending),
            "refused_units": len(self.refused),
            "published": ", ".join(str(d) for d in sorted(self.published)[:60]) or "(none)",
            "pending": md(self.pending),
            "refused": md(self.refused),
            "restatements": dg.MetadataValue.md("\n".join(lines) if rows else "(none)"),
        }

    def gate_result(self) -> dg.AssetCheckResult:
        """The publication audit as a check of its own: passed unless a unit was refused."""
        pending_late = [d for d, why in self.pending.items() if "late:" in why]
        desc = (
            f"published {len(self.published)} (restated {len(self.restated)}), pending {len(self.pending)}"
            f", refused {len(self.refused)}"
        )
        if self.refused:
            first = min(self.refused)
            desc += f"; first refused {first}: {self.refused[first]}"
        elif self.pending:
            first = min(self.pending)
            desc += f"; first pending {first}: {self.pending[first]}"
        return dg.AssetCheckResult(
            check_name=GATE_CHECK,
            passed=not self.refused,
            # ERROR (pages) only when the data failed a gate; a day held back for too little history,
            # a closed period or a day not over yet is a WARN that names it (few, true alerts)
            severity=dg.AssetCheckSeverity.ERROR if self.failed_gates else dg.AssetCheckSeverity.WARN,
            description=desc[:2000],
            metadata={**self.metadata(), "pending_past_sla": len(pending_late),
                      "policy_hold": self.policy_hold},
        )

    @property
    def policy_hold(self) -> bool:
        """Refused by policy only (a closed period without approval, a day not over, too little
        history), no gate failed: the alert sensors tell the launcher instead of paging."""
        return bool(self.refused) and not self.failed_gates


def _f(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


# ------------------------------------------------------------------------------- approval


@cache
def _approvers() -> dict[str, str]:
    """Accepted approval names (person id and e-mail, lower case) -> the person's id."""

    team = load_team_config()
    out: dict[str, str] = {}
    for ref in team.approvers:
        p = team.person(ref)
        out[p.id.lower()] = p.id
        out[p.email.lower()] = p.id
    return out


def check_approval(value: str | None) -> tuple[str | None, str]:
    """(approver, "") for a valid `approved_by` tag value, else (None, why not); None = no tag."""
    tag = check_settings().publication.closed_period.approval_tag
    if value is None:
        return None, ""
    known = sorted(set(_approvers().values()))
    if not value.strip():
        return None, f"run tag {tag} is blank; it must name one of config/team.yaml approvers {known}"
    if value.strip().lower() not in _approvers():
        return None, f"run tag {tag}={value!r} is not one of config/team.yaml approvers {known}"
    return value.strip(), ""


# ------------------------------------------------------------------------------- audit


def _gates(pipeline: str):
    return catalogue().gates_for(pipeline)


def _problem(asset: str, name: str, status: str, message: str) -> Problem | None:
    if status in ("fail", "error"):
        return Problem(FAILED, f"{asset}:{name} ({message[:160]})")
    if status == "skip":
        return Problem(UNEVALUABLE, f"{asset}:{name} could not be evaluated ({message[:160]})")
    return None


def gate_status(
    warehouse: Warehouse, pipeline: str, days: list[date], run_id: str, *, now: datetime | None = None
) -> dict[date, list[Problem]]:
    """Per day of `days`, the ERROR gates of `pipeline` that failed or could not be evaluated.

    Evaluations of this run come from ops.check_history; gates not yet evaluated in this run are
    evaluated now and appended, so the decision is always about the data as it is."""
    gates = _gates(pipeline)
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
            seen[(r["asset"], r["check_name"], to_date(r["partition_day"]))] = r
    fresh: list[CheckOutcome] = []
    memo: dict = {}  # one warehouse state: what two gates both read is computed once (checks/core.py)
    for g in gates:
        missing = [d for d in days if (g.asset, g.name, d) not in seen]
        if missing:
            outs = evaluate(g, warehouse, missing, run_id=run_id, now=now, memo=memo)
            fresh.extend(outs)
            for o in outs:
                seen[(g.asset, g.name, o.day)] = {"status": o.status, "message": o.message}
    if fresh:
        history.append(warehouse, fresh)
    out: dict[date, list[Problem]] = {d: [] for d in days}
    for g in gates:
        for d in days:
            r = seen[(g.asset, g.name, d)]
            if (p := _problem(g.asset, g.name, r["status"], r["message"] or "")) is not None:
                out[d].append(p)
    return out


def history_status(warehouse: Warehouse, pipeline: str, days: list[date]) -> dict[date, list[Problem]]:
    """Per earlier day (outside this run's audit), gates that failed, were skipped or never ran,
    from the latest evaluation of any run."""
    gates = _gates(pipeline)
    out: dict[date, list[Problem]] = {d: [] for d in days}
    if not days:
        return out
    latest = history.latest(
        warehouse, [(g.asset, g.name) for g in gates], min(days), max(days) + timedelta(1)
    )
    got = {(r["asset"], r["check_name"], to_date(r["partition_day"])): r for r in latest.to_dict("records")}
    for g in gates:
        for d in days:
            r = got.get((g.asset, g.name, d))
            if r is None:
                out[d].append(Problem(UNAUDITED, f"{g.asset}:{g.name} {NOT_AUDITED}"))
            elif (p := _problem(g.asset, g.name, r["status"], r["message"] or "")) is not None:
                out[d].append(p)
    return out


def _deadline(pipeline: str, day: date) -> datetime | None:
    """The daily SLA deadline of `day` for `pipeline` (the first deadline tick after the day ends)."""
    sla = pipeline_config().get(pipeline).sla.daily
    if sla is None:
        return None


    end = datetime(day.year, day.month, day.day) + timedelta(days=1)
    start = end.replace(tzinfo=ZoneInfo("UTC")).timestamp()
    tick = next(cron_string_iterator(start, sla.deadline_cron, sla.timezone))
    return tick.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def pending_status(warehouse: Warehouse, pipeline: str, days: list[date], now: datetime) -> dict[date, str]:
    """Days of `days` whose inputs are not complete yet at `now`, with why (and whether late).

    Complete = every feed of the pipeline's `publication.complete_when` has landed a row at least
    hours_after_day_end past the day's end (by the feed's own clock column, counting only rows
    landed by `now`)."""
    pub = pipeline_config().get(pipeline).publication
    feeds = pub.complete_when if pub else []
    out: dict[date, str] = {}
    if not feeds or not days:
        return out
    marks: dict[str, datetime | None] = {}
    for f in feeds:
        try:
            df = warehouse.query_df(
                f"select max({f.column}) as m from raw.{f.source} where {f.column} <= ?", [now]
            )
        except Exception:  # noqa: BLE001 - a missing raw table: nothing has landed (the gates fail too)
            df = None
        v = df["m"].iloc[0] if df is not None and len(df) else None
        marks[f"{f.source}.{f.column}"] = None if v is None or v != v else v.to_pydatetime()
    for d in days:
        end = datetime(d.year, d.month, d.day) + timedelta(days=1)
        why = []
        for f in feeds:
            need = end + timedelta(hours=f.hours_after_day_end)
            mark = marks[f"{f.source}.{f.column}"]
            if now < need:
                why.append(
                    f"raw.{f.source} needs {f.hours_after_day_end:g} h after the day's end "
                    f"({need:%Y-%m-%d %H:%M}) and the run clock is {now:%Y-%m-%d %H:%M}"
                )
            elif mark is None or mark < need:
                why.append(
                    f"raw.{f.source} has landed up to {mark:%Y-%m-%d %H:%M}"
                    if mark
                    else f"raw.{f.source} has no rows"
                )
                why[-1] += f", needs {need:%Y-%m-%d %H:%M} ({f.hours_after_day_end:g} h after the day's end)"
        if why:
            text = "inputs still landing: " + "; ".join(why)
            deadline = _deadline(pipeline, d)
            if deadline is not None:
                text += (
                    f"; late: SLA deadline {deadline:%Y-%m-%d %H:%M} UTC has passed"
                    if now > deadline
                    else f"; SLA deadline {deadline:%Y-%m-%d %H:%M} UTC"
                )
            out[d] = text
    return out


# ------------------------------------------------------------------------------- units and values


def _period_start(d: date, period: str) -> date:
    return d.replace(day=1) if period == "month" else date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _period_end(start: date, period: str) -> date:
    y, m = divmod(start.month - 1 + (1 if period == "month" else 3), 12)
    return date(start.year + y, m + 1, 1)


def _units(spec: InvestorTable, days: list[date], last: date | None = None) -> dict[date, list[date]]:
    """Publication units (the table's key values) touched by `days`, each with the days it covers
    up to `last` (default: the last of `days`)."""
    last = last or max(days)
    if spec.period == "day":
        return {
            d: [d + timedelta(i) for i in range(spec.depends_on_days_after + 1) if d + timedelta(i) <= last]
            for d in days
        }
    units: dict[date, list[date]] = {}
    for d in days:
        units.setdefault(_period_start(d, spec.period), [])
    for start in units:
        end = min(_period_end(start, spec.period), last + timedelta(1))
        units[start] = [start + timedelta(i) for i in range((end - start).days)]
    return units


def restate_window(spec: InvestorTable) -> int:
    """Days before a run's window whose published values the run may restate: the pipeline's
    lookback (dbt rebuilds it) plus the days after a unit its values depend on."""
    return pipeline_config().get(spec.pipeline).lookback_days + spec.depends_on_days_after


def _is_closed(covered: list[date], lookback_days: int, now: datetime) -> bool:
    """A unit is closed once its last day is before the month of the last complete day (at the
    run clock) or older than the lookback before it: the days a morning run may still restate
    are the ones its dbt build recomputes."""
    last, newest = max(covered), last_complete_day(now)
    return last < newest.replace(day=1) or last < newest - timedelta(days=lookback_days)


def _columns(cur, rel: str) -> tuple[list[str], list[str]]:
    """All columns of a relation, and its numeric ones (the audited values)."""
    cur.execute(f"select * from {rel} where 1 = 0")
    cols = [d[0].lower() for d in cur.description]
    schema, _, name = rel.rpartition(".")
    cur.execute(
        "select lower(column_name), upper(data_type) from information_schema.columns "
        "where lower(table_schema) = ? and lower(table_name) = ?",
        [schema.lower(), name.lower()],
    )
    types = dict(cur.fetchall())
    numeric = [c for c in cols if any(t in types.get(c, "") for t in NUMERIC_TYPES)]
    return cols, numeric


def _values(
    cur, rel: str, spec: InvestorTable, units: list[date], audited: list[str]
) -> dict[date, dict[str, dict[str, Any]]]:
    """unit -> row key -> audited column -> value, for the units present in `rel`."""
    out: dict[date, dict[str, dict[str, Any]]] = {}
    if not units:
        return out
    keys = [spec.day_column, *spec.row_key]
    marks = ", ".join(["?"] * len(units))
    cur.execute(f"select {', '.join(keys + audited)} from {rel} where {spec.day_column} in ({marks})", units)
    for r in cur.fetchall():
        row_key = "/".join(str(x) for x in r[1 : len(keys)])
        out.setdefault(to_date(r[0]), {})[row_key] = dict(zip(audited, r[len(keys) :], strict=True))
    return out


def _changes(
    unit: date, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], audited: list[str]
) -> list[Restatement]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, {}), new.get(key, {})
        for c in audited:
            va, vb = a.get(c), b.get(c)
            if va != vb and not (isinstance(va, float) and isinstance(vb, float) and va != va and vb != vb):
                out.append(Restatement(unit, key, c, num(va), num(vb)))
    return out


def _rel(first: float | None, latest: float | None) -> float | None:
    if first is None or latest is None:
        return None
    if latest == first:
        return 0.0
    return abs(latest - first) / abs(latest) if latest else 1.0


def _attempted(cur, target: str, units: list[date]) -> set[date]:
    """Units of `target` that some run already tried to publish (any ops.publication_log row)."""
    if not units:
        return set()
    marks = ", ".join(["?"] * len(units))
    cur.execute(
        f"select distinct unit from ops.publication_log where investor_table = ? and unit in ({marks})",
        [target, *units],
    )
    return {to_date(r[0]) for r in cur.fetchall()}


def _ensure_ops(cur, schema: str) -> None:
    cur.execute(f"create schema if not exists {schema}")
    cur.execute("create schema if not exists ops")
    for ddl in (LOG_DDL, RESTATEMENTS_DDL, DRIFT_DDL, *DRIFT_MIGRATION):
        cur.execute(ddl)


def _ensure_target(cur, target: str, model: str) -> None:
    cur.execute(
        f"create table if not exists {target} as select *, cast(null as varchar) as _published_run_id, "
        f"cast(null as timestamp) as _published_at, cast(null as varchar) as _approved_by "
        f"from {model} where 1 = 0"
    )


def _late_delta(
    col: str, late_inputs: dict[str, dict[str, float]], change: dict[str, float | None]
) -> float | None:
    """The part of `col`'s change since first publication that late inputs explain: all of a late
    input's own change, and each late input's change times its coefficient in `col`."""
    if col in late_inputs:
        return change.get(col)
    parts = [(coef, change.get(k)) for k, into in late_inputs.items() for c, coef in into.items() if c == col]
    if any(d is None for _, d in parts):
        return None
    return sum(coef * d for coef, d in parts)


def _update_drift(
    cur,
    target: str,
    computed: dict[date, dict[str, dict[str, Any]]],
    published_now: set[date],
    run_id: str,
    now: datetime,
    late_inputs: dict[str, dict[str, float]],
    max_drift_pp: float,
) -> None:
    """Keep, per unit, row and column, the first published value and the latest computed one,
    with the drift net of late inputs that the SLO judges."""
    units = sorted(computed)
    if not units:
        return
    named = set(late_inputs) | {c for into in late_inputs.values() for c in into}
    present = {c for u in units for vals in computed[u].values() for c in vals}
    if present and named - present:
        raise ValueError(
            f"publication.tables.{target.split('.')[-1]}.late_inputs: {sorted(named - present)} "
            f"are not audited columns of {target} ({sorted(present)})"
        )
    slo = max_drift_pp / 100
    marks = ", ".join(["?"] * len(units))
    cur.execute(
        "select unit, row_key, column_name, first_value, first_run_id, first_published_at "
        f"from ops.publication_drift where investor_table = ? and unit in ({marks})",
        [target, *units],
    )
    first = {(to_date(r[0]), r[1], r[2]): (r[3], r[4], r[5]) for r in cur.fetchall()}
    rows = []
    for u in units:
        for key, vals in computed[u].items():
            firsts: dict[str, tuple] = {}
            for col, v in vals.items():
                f = first.get((u, key, col))
                if f is None and u in published_now:
                    f = (num(v), run_id, now)
                if f is not None:  # else never published: no drift to measure yet
                    firsts[col] = f
            change = {
                c: (num(vals[c]) - f[0]) if num(vals[c]) is not None and f[0] is not None else None
                for c, f in firsts.items()
            }
            for col, f in firsts.items():
                latest = num(vals[col])
                rel = _rel(f[0], latest)
                late = _late_delta(col, late_inputs, change) if late_inputs else 0.0
                net = None
                if rel is not None and late is not None:
                    net = _rel(f[0] + late, latest)
                rows.append(
                    (
                        target,
                        u,
                        key,
                        col,
                        f[0],
                        f[1],
                        f[2],
                        latest,
                        run_id,
                        now,
                        rel,
                        slo,
                        net is not None and net > slo,
                        late,
                        net,
                    )
                )
    cur.execute(
        f"delete from ops.publication_drift where investor_table = ? and unit in ({marks})", [target, *units]
    )
    if rows:
        cur.executemany(
            "insert into ops.publication_drift (investor_table, unit, row_key, column_name, first_value, "
            "first_run_id, first_published_at, latest_value, latest_run_id, latest_at, rel_diff, slo_rel, "
            "breached, late_delta, net_rel_diff) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def _write(
    cur,
    target: str,
    spec: InvestorTable,
    source_sql: str,
    source_params: list,
    cols: list[str],
    ok: list[date],
    report: PublishReport,
    run_id: str,
    approver: str | None,
    now: datetime,
    computed: dict[date, dict[str, dict[str, Any]]],
    drift: bool,
) -> None:
    """Replace the `ok` units in one transaction, with their restatement, drift and log rows."""
    collist = ", ".join(cols)
    cur.execute("begin transaction")
    try:
        if ok:
            okm = ", ".join(["?"] * len(ok))
            cur.execute(f"delete from {target} where {spec.day_column} in ({okm})", ok)
            cur.execute(
                f"insert into {target} ({collist}, {', '.join(PUBLICATION_COLUMNS)}) "
                f"select {collist}, ?, ?, ? from ({source_sql}) as s where {spec.day_column} in ({okm})",
                [run_id, now, approver, *source_params, *ok],
            )
        rest = [r for u in ok for r in report.restated.get(u, [])]
        if rest:
            cur.executemany(
                "insert into ops.restatements values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (target, r.unit, r.row_key, r.column, r.old, r.new, r.delta, run_id, approver, now)
                    for r in rest
                ],
            )
        if drift:
            _update_drift(cur, target, computed, set(ok), run_id, now, spec.late_inputs,
                          spec.slo.accuracy.max_drift_pp)
        log = [
            (target, u, "restated" if u in report.restated else "published", "", run_id, approver, now)
            for u in ok
        ]
        log += [
            (target, u, "pending", why[:1000], run_id, approver, now) for u, why in report.pending.items()
        ]
        log += [
            (target, u, "refused", why[:1000], run_id, approver, now) for u, why in report.refused.items()
        ]
        if log:
            cur.executemany("insert into ops.publication_log values (?, ?, ?, ?, ?, ?, ?)", log)
        cur.execute("commit")
    except Exception:
        cur.execute("rollback")
        raise
    report.published = sorted(ok)
    report.restated = {u: r for u, r in report.restated.items() if u in ok}


# ------------------------------------------------------------------------------- publish


def publish_table(
    warehouse: Warehouse,
    name: str,
    days: list[date],
    *,
    run_id: str = "",
    approved_by: str | None = None,
    now: datetime | None = None,
) -> PublishReport:
    """Audit and publish `days` of investor table `name` (config/pipelines.yaml `publication.tables`),
    and re-publish the changed units of the lookback before them."""
    cfg = check_settings().publication
    tables = pipeline_config().investor_tables
    if name not in tables:
        raise ConfigError(
            f"investor table {name!r} is not in any pipeline's `publication.tables` (config/pipelines.yaml)"
        )
    spec = tables[name]
    now = now or wall_clock()
    target = f"{cfg.schema_}.{name}"
    report = PublishReport(target)
    approver, approval_problem = check_approval(approved_by)
    for d in incomplete_days(days, now):
        unit = d if spec.period == "day" else _period_start(d, spec.period)
        report.refused.setdefault(unit, refusal_message(target, [d], now))
        report.blocking.append(unit)
    days = sorted(d for d in days if d not in incomplete_days(days, now))
    if spec.derived_from:
        return _publish_derived(warehouse, name, spec, days, report, run_id, approver, approval_problem, now)

    model = relation(spec.model)
    lookback = pipeline_config().get(spec.pipeline).lookback_days
    with warehouse.connect() as con:
        cur = con.cursor()
        _ensure_ops(cur, cfg.schema_)
        _ensure_target(cur, target, model)
        cols, numeric = _columns(cur, model)
    if not days:
        with warehouse.connect() as con:
            _write(con.cursor(), target, spec, "", [], cols, [], report, run_id, approver, now, {}, False)
        return report
    audited = [c for c in numeric if c not in (spec.day_column, *spec.row_key)]
    run_units = _units(spec, days)
    first_day = pipeline_config().partitions_start_date
    back = [min(days) - timedelta(i) for i in range(restate_window(spec), 0, -1)]
    back_units = _units(spec, [d for d in back if d >= first_day], max(days)) if back else {}
    with warehouse.connect() as con:
        cur = con.cursor()
        new_vals = _values(cur, model, spec, sorted(run_units | back_units), audited)
        old_vals = _values(cur, target, spec, sorted(run_units | back_units), audited)
        tried = _attempted(cur, target, sorted(back_units))
    # lookback units: those published whose values changed, and those an earlier run tried and
    # left unpublished (pending, refused) that have rows now; the rest stay as they are
    all_back = set(back_units)
    back_units = {
        u: cov
        for u, cov in back_units.items()
        if u in new_vals and (old_vals[u] != new_vals[u] if u in old_vals else u in tried)
    }
    report.unchanged = sorted(u for u in all_back if u in old_vals and u not in back_units)
    units = {**back_units, **run_units}
    audit_days = sorted(set(days) | set(back_units))
    in_run = gate_status(warehouse, spec.pipeline, audit_days, run_id, now=now)
    earlier = sorted({d for cov in units.values() for d in cov} - set(audit_days))
    status = {**history_status(warehouse, spec.pipeline, earlier), **in_run}
    pending = pending_status(warehouse, spec.pipeline, sorted({d for c in units.values() for d in c}), now)

    ok: list[date] = []
    for unit, covered in sorted(units.items()):
        problems = {d: ps for d in covered if (ps := status.get(d))}
        late = [d for d in covered if d in pending]
        changes = _changes(unit, old_vals.get(unit, {}), new_vals.get(unit, {}), audited)
        if problems:
            _refuse_for_gates(report, unit, problems)
        elif late:
            report.pending[unit] = (f"{late[0]}: " if late[0] != unit else "") + pending[late[0]]
        elif unit not in new_vals:
            report.refused[unit] = f"{spec.model} has no rows for {unit}"
        elif unit in old_vals and _is_closed(covered, lookback, now) and approver is None:
            what = "re-publishing" if not changes else f"restating {len(changes)} value(s) of"
            report.refused[unit] = (
                f"{unit} is in a closed period and already published; {what} it needs the run tag "
                f"{cfg.closed_period.approval_tag}=<one of config/team.yaml approvers>"
                + (f" ({approval_problem})" if approval_problem else "")
            )
            report.blocking.append(unit)
        else:
            ok.append(unit)
            if unit in old_vals and changes:
                report.restated[unit] = changes
    with warehouse.connect() as con:
        _write(
            con.cursor(),
            target,
            spec,
            f"select * from {model}",
            [],
            cols,
            ok,
            report,
            run_id,
            approver,
            now,
            {u: v for u, v in new_vals.items() if u in units},
            True,
        )
    return report


def _refuse_for_gates(report: PublishReport, unit: date, problems: dict[date, list[Problem]]) -> None:
    for kind, what in (
        (FAILED, "failed ERROR checks"),
        (UNEVALUABLE, "have ERROR checks that could not be evaluated"),
        (UNAUDITED, "were never audited (not built or checked yet)"),
    ):
        days = {d: [p.text for p in ps if p.kind == kind] for d, ps in problems.items()}
        days = {d: t for d, t in days.items() if t}
        if days:
            first = min(days)
            report.refused[unit] = f"{len(days)} day(s) {what}, first {first}: " + "; ".join(days[first][:3])
            if kind != UNAUDITED:
                report.blocking.append(unit)
            if kind == FAILED:
                report.failed_gates.append(unit)
            return


# ------------------------------------------------------------------------------- derived periods

# The row of a period table from the published daily rows ({src}: the daily investor table);
# parameters: see _derived_params. Columns are selected by name into the target's shape.
_PROFIT_PERIOD = """
    select cast(? as date) as {day_column}, sum(revenue_usd) as revenue_usd, sum(refunds_usd) as refunds_usd,
        sum(cost_usd) as cost_usd, sum(profit_usd) as profit_usd, sum(orders) as orders,
        count(*) as days_reported, ? as days_in_period, max(fx_rate_set_version) as fx_rate_set_version,
        max(metric_definitions_version) as metric_definitions_version, max(rules_version) as rules_version,
        max(cost_table_version) as cost_table_version
    from {src} where order_date >= ? and order_date < ?"""
_GROWTH_MONTH = """
    select m.*, cast(m.active_accounts - m.active_accounts_prev_month_end as double)
        / nullif(m.active_accounts_prev_month_end, 0) as growth_rate
    from (
        select cast(? as date) as month_start, cast(? as date) as month_end, max(day) as active_as_of,
            max(day) = cast(? as date) as is_closed, sum(new_users) as new_users,
            sum(churned_users) as churned_users, sum(new_users) - sum(churned_users) as net_growth,
            count(*) as days_reported,
            (select g.active_accounts from {src} as g where g.day = (
                select max(day) from {src} where day >= ? and day < ?)) as active_accounts,
            (select g.active_accounts from {src} as g where g.day = cast(? as date) - 1)
                as active_accounts_prev_month_end,
            max(metric_definitions_version) as metric_definitions_version, max(rules_version) as rules_version
        from {src} where day >= ? and day < ?
    ) as m"""
DERIVED_SQL = {
    "agg_profit_monthly": _PROFIT_PERIOD,
    "agg_profit_quarterly": _PROFIT_PERIOD,
    "agg_growth_monthly": _GROWTH_MONTH,
}


def _derived_params(model: str, start: date, end: date, upto: date) -> list:
    """Parameters of DERIVED_SQL[model] for the period [start, end) built up to `upto` (exclusive)."""
    if model == "agg_growth_monthly":
        return [start, end - timedelta(1), end - timedelta(1), start, upto, start, start, upto]
    return [start, (end - start).days, start, upto]


def _publish_derived(
    warehouse: Warehouse,
    name: str,
    spec: InvestorTable,
    days: list[date],
    report: PublishReport,
    run_id: str,
    approver: str | None,
    approval_problem: str,
    now: datetime,
) -> PublishReport:
    """A month/quarter table from the published days of its daily table: a period is (re)published
    when all its days up to the run's last day are published and its sums differ from what is."""
    cfg = check_settings().publication
    base = pipeline_config().investor_tables[spec.derived_from]
    src = f"{cfg.schema_}.{spec.derived_from}"
    target = report.table
    if spec.model not in DERIVED_SQL:
        raise ConfigError(
            f"pipelines.{spec.pipeline}.publication.tables.{name}.derived_from: no aggregation from {src} "
            f"is defined for {spec.model} "
            f"(metrics_assets/publication/publish.py DERIVED_SQL: {sorted(DERIVED_SQL)})"
        )
    lookback = pipeline_config().get(spec.pipeline).lookback_days
    units: dict[date, list[date]] = {}
    pending: dict[date, str] = {}
    if days:
        last = max(days)
        touched = sorted(set(days) | {min(days) - timedelta(i) for i in range(1, restate_window(base) + 1)})
        units = _units(spec, touched, last)
        run_touched = set(_units(spec, days, last))
        pending = pending_status(
            warehouse, spec.pipeline, sorted({d for c in units.values() for d in c}), now
        )
    with warehouse.connect() as con:
        cur = con.cursor()
        _ensure_ops(cur, cfg.schema_)
        _ensure_target(cur, target, relation(spec.model))
        _ensure_target(cur, src, relation(base.model))
        cols, numeric = _columns(cur, target)
        cols = [c for c in cols if c not in PUBLICATION_COLUMNS]
        audited = [c for c in numeric if c != spec.day_column]
        collist = ", ".join(cols)
        # the computed rows, typed as the target: a temporary table of its shape
        cur.execute(f"create or replace temp table _derived as select {collist} from {target} where 1 = 0")
        have: set[date] = set()
        if units:
            cur.execute(
                f"select distinct {base.day_column} from {src} where {base.day_column} >= ? and "
                f"{base.day_column} < ?",
                [min(units), max(_period_end(u, spec.period) for u in units)],
            )
            have = {to_date(r[0]) for r in cur.fetchall()}
        # a period covers its days up to the run's last day or its newest published day if later
        for unit, covered in units.items():
            newest = max((d for d in have if unit <= d < _period_end(unit, spec.period)), default=None)
            if newest is not None and (not covered or newest > max(covered)):
                units[unit] = [unit + timedelta(i) for i in range((newest - unit).days + 1)]
        sql = DERIVED_SQL[spec.model].format(src=src, day_column=spec.day_column)
        for unit, covered in units.items():
            if covered and all(d in have for d in covered):
                params = _derived_params(
                    spec.model, unit, _period_end(unit, spec.period), max(covered) + timedelta(1)
                )
                cur.execute(f"insert into _derived ({collist}) select {collist} from ({sql}) as s", params)
        new_vals = _values(cur, "_derived", spec, sorted(units), audited)
        old_vals = _values(cur, target, spec, sorted(units), audited)
        ok: list[date] = []
        for unit, covered in sorted(units.items()):
            missing = [d for d in covered if d not in have]
            changes = _changes(unit, old_vals.get(unit, {}), new_vals.get(unit, {}), audited)
            if missing:
                late = [d for d in missing if d in pending]
                if late:
                    report.pending[unit] = f"{late[0]} is pending in {src}: {pending[late[0]]}"
                elif unit in run_touched:
                    report.refused[unit] = (
                        f"{len(missing)} day(s) of the {spec.period} are not published in {src}, first "
                        f"{missing[0]} (see its ops.publication_log rows)"
                    )
            elif unit in old_vals and not changes:
                report.unchanged.append(unit)
            elif unit in old_vals and _is_closed(covered, lookback, now) and approver is None:
                report.refused[unit] = (
                    f"{unit} is in a closed period and already published; restating {len(changes)} "
                    f"value(s) needs the run tag {cfg.closed_period.approval_tag}=<one of config/team.yaml "
                    "approvers>" + (f" ({approval_problem})" if approval_problem else "")
                )
                report.blocking.append(unit)
            else:
                ok.append(unit)
                if unit in old_vals:
                    report.restated[unit] = changes
        _write(
            cur,
            target,
            spec,
            "select * from _derived",
            [],
            cols,
            ok,
            report,
            run_id,
            approver,
            now,
            {},
            False,
        )
    return report


# ------------------------------------------------------------------------------- refusals


def log_refusals(
    warehouse: Warehouse, tables: list[str], days: list[date], reason: str, *, run_id: str
) -> int:
    """Log `refused` for the units of `days` of each investor table (a step upstream stopped them)."""
    cfg = check_settings().publication
    specs = pipeline_config().investor_tables
    now = wall_clock()
    rows = []
    for name in tables:
        spec = specs[name]
        units = (
            sorted(_units(spec, days))
            if spec.period == "day"
            else sorted({_period_start(d, spec.period) for d in days})
        )
        rows += [(f"{cfg.schema_}.{name}", u, "refused", reason[:1000], run_id, None, now) for u in units]
    if rows:
        with warehouse.connect() as con:
            cur = con.cursor()
            _ensure_ops(cur, cfg.schema_)
            cur.executemany("insert into ops.publication_log values (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


DRIFT_SUMMARY_SQL = """
    select investor_table, column_name, count(*) as numbers, max(rel_diff) as max_rel_diff,
        avg(rel_diff) as mean_rel_diff, max(net_rel_diff) as max_net_rel_diff,
        avg(net_rel_diff) as mean_net_rel_diff, sum(case when breached then 1 else 0 end) as breaches,
        max(slo_rel) as slo_rel
    from ops.publication_drift where rel_diff is not null
    group by 1, 2 order by 1, 2
"""


def drift_report(warehouse: Warehouse):
    """Per investor table and column: numbers measured, the largest and mean relative drift
    (first published vs the latest rebuild), the same net of late inputs, and how many of those
    breach the accuracy SLO."""
    return warehouse.query_df(DRIFT_SUMMARY_SQL)


# ------------------------------------------------------------------------------- assets


def build_publish_assets(pipelines: PipelineConfig, cat: Catalogue) -> list[dg.AssetsDefinition]:
    """One publish asset per investor table that the pipelines declare."""
    return [_build(name, spec, pipelines, cat) for name, spec in pipelines.investor_tables.items()]


def _build(name: str, spec: InvestorTable, cfg: PipelineConfig, cat: Catalogue) -> dg.AssetsDefinition:
    pub = check_settings().publication
    if spec.derived_from:
        deps = [dg.AssetKey([pub.schema_, spec.derived_from])]
        source = f"the published days of `{pub.schema_}.{spec.derived_from}`"
    else:
        deps = [
            dg.AssetKey([m])
            for m in sorted({g.asset for g in cat.gates_for(spec.pipeline) if not g.is_raw} | {spec.model})
        ]
        source = f"`{spec.model}`"
    tag = pub.closed_period.approval_tag
    key = dg.AssetKey([pub.schema_, name])
    runbook = cfg.runbook_url(spec.pipeline, "recovery")

    @dg.asset(
        pool=POOL,
        key=key,
        group_name=spec.pipeline,
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        deps=deps,
        kinds={"python", "duckdb"},
        # owners, SLA, runbook and the rest of the pipeline's policy: metrics_assets/pipeline_policy.py
        tags={"pipeline": spec.pipeline, "layer": "investor"},
        metadata={
            "dagster/table_name": f"{pub.schema_}.{name}",
            "source_model": spec.model,
            **({"grain_period": spec.period} if spec.period != "day" else {}),
            **({"derived_from": f"{pub.schema_}.{spec.derived_from}"} if spec.derived_from else {}),
        },
        check_specs=[
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=key,
                description=(
                    f"[ERROR] publication audit of `{pub.schema_}.{name}`: which days this run published, "
                    f"restated, left pending (inputs still landing) or refused and why (a failed or "
                    f"unevaluable ERROR gate, a day not over yet, a closed period without `{tag}`). "
                    f"Runbook: {runbook}"
                ),
                metadata={
                    "severity": "ERROR",
                    "pipeline": spec.pipeline,
                    "runbook": dg.MetadataValue.url(runbook),
                },
            )
        ],
        description=(
            f"Investor-facing `{pub.schema_}.{name}` from {source}: a day is published only once it is "
            f"over, its inputs have landed and every ERROR check of {spec.pipeline} passed for it "
            f"(write, audit, publish); changed lookback days are restated (ops.restatements); closed "
            f"periods need the run tag `{tag}` naming an approver of config/team.yaml."
        ),
    )
    def _publish(context: dg.AssetExecutionContext, warehouse: Warehouse):
        start, end = window_of(context)
        days = days_in(start, end)
        now = run_now(context)
        with warehouse.session(f"publish {name}"):  # one connection for the step's queries
            try:
                report = publish_table(
                    warehouse,
                    name,
                    days,
                    run_id=context.run_id,
                    approved_by=context.run.tags.get(tag),
                    now=now,
                )
            except Exception as exc:
                log_refusals(
                    warehouse,
                    [name],
                    days,
                    f"publication failed: {type(exc).__name__}: {exc}"[:1000],
                    run_id=context.run_id,
                )
                raise
            if spec.has_daily_slo:  # the owners' SLO rows of this table, as of this run's clock
                slo_tables.refresh(warehouse, cfg, now, pub.schema_, tables=[name],
                                   run=(context.run_id, slo_tables.trigger_of(context.run.tags)))
        for unit, why in sorted(report.refused.items()):
            context.log.warning(f"{report.table}: refused {unit}: {why}")
        for unit, why in sorted(report.pending.items()):
            context.log.info(f"{report.table}: pending {unit}: {why}")
        check = report.gate_result()
        if report.blocking and not report.published:
            yield check
            raise dg.Failure(
                description=f"{report.table}: nothing published; refused {len(report.refused)} unit(s): "
                + "; ".join(f"{u}: {w}" for u, w in sorted(report.refused.items())[:5]),
                metadata={**report.metadata(), "policy_hold": report.policy_hold},
            )
        yield dg.MaterializeResult(metadata=report.metadata(), check_results=[check])

    return _publish.with_hooks({log_stopped_publication})
