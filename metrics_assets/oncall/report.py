"""Fairness report and a readable schedule table, computed from a schedule and the team config.

The figures are recomputed from the schedule file, not copied from the solver, so a hand-edited or
re-planned schedule is judged by the same arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metrics_assets.oncall.blocks import build_facts, make_blocks
from metrics_assets.oncall.planner import _plan_of, check_hard_rules
from metrics_assets.oncall.schedule import Schedule
from metrics_assets.oncall.solver import B, P, metric_values
from metrics_core.team import FAIRNESS_METRICS, TeamConfig

LABELS = {
    "primary_weeks": "primary wk",
    "backup_weeks": "backup wk",
    "holiday_days_primary": "hol. days P",
    "holiday_days_backup": "hol. days B",
    "weekend_days": "weekend days",
}


@dataclass
class Fairness:
    people: list[str]  # ids, roster order
    values: dict[str, dict[str, int]]  # metric -> person id -> value
    spreads: dict[str, int]
    lower_bounds: dict[str, int | None]  # the best spread any schedule could have (when totals are fixed)
    continuity: int
    continuity_weeks: int
    violations: list[str]

    @property
    def continuity_pct(self) -> float:
        return 100.0 * self.continuity / self.continuity_weeks if self.continuity_weeks else 100.0


def fairness(schedule: Schedule, team: TeamConfig) -> Fairness:
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    facts = build_facts(team, blocks)
    plan = _plan_of(schedule, team)
    values = {m: metric_values(facts, plan, m) for m in FAIRNESS_METRICS}
    n = len(facts.people)
    bounds: dict[str, int | None] = {}
    for m, v in values.items():
        total = sum(v.values())
        step = 2 if m == "weekend_days" and all(facts.weekend[w] == 2 for w in facts.weeks) else 1
        bounds[m] = step * (math.ceil(total / n / step) - total // n // step)
    cont = sum(plan[w][B] == plan[w - 1][P] for w in range(1, len(plan)))
    return Fairness(
        list(facts.people),
        values,
        {m: max(v.values()) - min(v.values()) for m, v in values.items()},
        bounds,
        cont,
        max(len(plan) - 1, 0),
        check_hard_rules(schedule, team),
    )


def fairness_text(schedule: Schedule, team: TeamConfig) -> str:
    f = fairness(schedule, team)
    names = {p.id: p.name for p in team.people}
    w = max(len(names[p]) for p in f.people) + 6
    head = f"{'engineer':<{w}}" + "".join(f"{LABELS[m]:>14}" for m in FAIRNESS_METRICS)
    lines = [
        f"On-call fairness, {schedule.rotation} {schedule.slots[0].id}..{schedule.slots[-1].id} "
        f"({len(schedule.slots)} weeks)",
        head,
        "-" * len(head),
    ]
    for p in f.people:
        lines.append(
            f"{names[p] + ' (' + p + ')':<{w}}" + "".join(f"{f.values[m][p]:>14}" for m in FAIRNESS_METRICS)
        )
    lines.append("-" * len(head))
    lines.append(f"{'spread (max-min)':<{w}}" + "".join(f"{f.spreads[m]:>14}" for m in FAIRNESS_METRICS))
    lines.append(
        f"{'best possible':<{w}}"
        + "".join(f"{'' if f.lower_bounds[m] is None else f.lower_bounds[m]:>14}" for m in FAIRNESS_METRICS)
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
