"""Fairness report and a readable schedule table, computed from a schedule and the team config.

The figures are recomputed from the schedule file, not copied from the solver, so a hand-edited or
re-planned schedule is judged by the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from metrics_assets.oncall.blocks import build_facts, make_blocks
from metrics_assets.oncall.planner import _plan_of, check_hard_rules, rest_exceptions
from metrics_assets.oncall.schedule import Schedule
from metrics_assets.oncall.solver import B, P, lower_bound, metric_values, shares, spread_of
from metrics_core.team import TeamConfig

# every figure the report prints, in print order (all of them are balanced by the generator)
COLUMNS = (
    "primary_weeks",
    "backup_weeks",
    "duty_weeks",
    "holiday_days_primary",
    "holiday_days_backup",
    "holiday_days",
    "weekend_days",
)
LABELS = {
    "primary_weeks": "primary wk",
    "backup_weeks": "backup wk",
    "duty_weeks": "duty wk",
    "holiday_days_primary": "hol. days P",
    "holiday_days_backup": "hol. days B",
    "holiday_days": "hol. days P+B",
    "weekend_days": "weekend days",
}


@dataclass
class Fairness:
    people: list[str]  # ids, roster order
    values: dict[str, dict[str, int]]  # metric -> person id -> value
    spreads: dict[str, Fraction]  # max - min; with joiners/leavers, of (value - pro-rated share)
    lower_bounds: dict[str, int | None]  # the best spread any schedule could have (when totals are fixed)
    continuity: int
    continuity_weeks: int
    violations: list[str]
    shares: dict[str, dict[str, Fraction]] = field(default_factory=dict)  # only with joiners/leavers
    rest_exceptions: list[str] = field(default_factory=list)  # the soft rest preference, where it gave way

    @property
    def continuity_pct(self) -> float:
        return 100.0 * self.continuity / self.continuity_weeks if self.continuity_weeks else 100.0


def fairness(schedule: Schedule, team: TeamConfig) -> Fairness:
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    facts = build_facts(team, blocks)
    plan = _plan_of(schedule, team)
    violations = check_hard_rules(schedule, team)
    values = {m: metric_values(facts, plan, m) for m in COLUMNS}
    cont = sum(plan[w][B] == plan[w - 1][P] for w in range(1, len(plan)))
    return Fairness(
        list(facts.people),
        values,
        {m: spread_of(facts, plan, m) for m in COLUMNS},
        {m: lower_bound(facts, m) for m in COLUMNS},
        cont,
        max(len(plan) - 1, 0),
        violations,
        {} if facts.uniform else {m: shares(facts, m) for m in COLUMNS},
        [] if violations else rest_exceptions(schedule, team),
    )


def _num(v: Fraction | int | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if Fraction(v).denominator == 1 else f"{float(v):.1f}"


def solve_notes(schedule: Schedule) -> list[str]:
    """The solver's own word on the last solve recorded in the log: proven optimal, or its gaps."""
    solves = [e for e in schedule.log if e.get("kind") in ("generated", "replan") and "stages" in e]
    if not solves:
        return []
    last = solves[-1]
    if last.get("optimal", True):
        return [f"solver: every stage proven optimal ({last['kind']})"]
    open_ = [x for x in last["stages"] if "not proven" in x or "skipped" in x]
    return [f"solver: time limit reached, best plan found, NOT proven optimal: {'; '.join(open_)}"]


def fairness_text(schedule: Schedule, team: TeamConfig) -> str:
    f = fairness(schedule, team)
    names = {p.id: p.name for p in team.people}
    w = max(len(names[p]) for p in f.people) + 6
    head = f"{'engineer':<{w}}" + "".join(f"{LABELS[m]:>14}" for m in COLUMNS)
    lines = [
        f"On-call fairness, {schedule.rotation} {schedule.slots[0].id}..{schedule.slots[-1].id} "
        f"({len(schedule.slots)} weeks)",
        head,
        "-" * len(head),
    ]
    for p in f.people:
        cells = [f"{f.values[m][p]}" + (f" ({_num(f.shares[m][p])})" if f.shares else "") for m in COLUMNS]
        lines.append(f"{names[p] + ' (' + p + ')':<{w}}" + "".join(f"{c:>14}" for c in cells))
    lines.append("-" * len(head))
    label = "spread (max-min)" if not f.shares else "spread vs share"
    lines.append(f"{label:<{w}}" + "".join(f"{_num(f.spreads[m]):>14}" for m in COLUMNS))
    lines.append(f"{'best possible':<{w}}" + "".join(f"{_num(f.lower_bounds[m]):>14}" for m in COLUMNS))
    if f.shares:
        lines.append(
            "(n): the person's pro-rated share -- each week's duty split among the people with the team "
            "that week; the spread is max - min of (value - share)"
        )
    lines.append(
        f"continuity (backup = last week's primary): {f.continuity}/{f.continuity_weeks} weeks "
        f"({f.continuity_pct:.0f}%)"
    )
    lines.append(f"holiday day overrides (backup acts as primary): {len(schedule.overrides)} segment(s)")
    estimated = [f"{d} {n}" for d, n in schedule.holidays.items() if "(estimated)" in n]
    if estimated:
        lines.append("estimated by the library, confirm with the company list: " + "; ".join(estimated))
    lines.append("hard rules: " + ("all hold" if not f.violations else f"{len(f.violations)} VIOLATION(S)"))
    lines += [f"  - {v}" for v in f.violations]
    k = team.rotation.max_consecutive_duty_weeks
    if k:
        lines.append(
            f"rest preference (at most {k} duty weeks in a row, soft): "
            + ("kept" if not f.rest_exceptions else f"{len(f.rest_exceptions)} exception(s)")
        )
        lines += [f"  - {r}" for r in f.rest_exceptions]
    lines += solve_notes(schedule)
    return "\n".join(lines)


def table_text(schedule: Schedule, team: TeamConfig) -> str:
    """One line per week: dates, Primary, Backup, holidays in the block and day overrides."""
    tz = team.tz
    hol = schedule.holidays
    by_block: dict[str, list[str]] = {}
    for o in schedule.overrides:
        by_block.setdefault(o.block, []).append(
            f"{o.start.astimezone(tz):%a %d %b %H:%M}-{o.end.astimezone(tz):%a %H:%M} {o.holiday}: "
            f"{schedule.pid(o.primary)} acts as primary"
        )
    lines = [
        f"{'week':<9} {'from (' + schedule.timezone + ')':<20} {'to':<20} {'primary':<8} {'backup':<8} notes"
    ]
    for s in schedule.slots:
        start, end = s.start.astimezone(tz), s.end.astimezone(tz)
        days = [k for k in hol if start.date().isoformat() <= k < end.date().isoformat()]
        notes = [f"{k[5:]} {hol[k]}" for k in days] + by_block.get(s.id, [])
        lines.append(
            f"{s.id:<9} {start:%a %Y-%m-%d %H:%M} {end:%a %Y-%m-%d %H:%M} "
            f"{schedule.pid(s.primary):<8} {schedule.pid(s.backup):<8} {'; '.join(notes)}"
        )
    return "\n".join(lines)
