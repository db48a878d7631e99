"""Generate and re-plan published schedules from the team config, and check the hard rules.

This is the layer between the YAML world (people by e-mail, PTO by date) and the solver world (ids,
block indexes). Every decision that changes a published schedule is written to its log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.metadata import version

from metrics_assets.oncall.blocks import Block, Facts, build_facts, default_window, make_blocks, year_window
from metrics_assets.oncall.schedule import Schedule, Slot, day_overrides
from metrics_assets.oncall.solver import ROLES, B, History, P, Plan, metric_values, solve_rotation
from metrics_core.config import ConfigError
from metrics_core.team import Pto, TeamConfig

log = logging.getLogger(__name__)


def _inputs_sha(team: TeamConfig, blocks: list[Block], facts: Facts) -> str:
    payload = {
        # what the rotation is solved from; approvers (publication policy) do not change a plan
        "team": team.model_dump(mode="json", exclude={"approvers"}),
        "blocks": [b.start.isoformat() for b in blocks],
        "holidays": {d.isoformat(): n for d, n in facts.holidays.items()},
        "solver": version("ortools"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _pto_rows(team: TeamConfig, blocks: list[Block]) -> list[dict[str, str]]:
    lo, hi = blocks[0].start.date(), blocks[-1].end.date()
    return [
        {"person": p.email, "start": t.start.isoformat(), "end": t.end.isoformat(), "reason": t.reason}
        for p in team.rotation_people
        for t in p.pto
        if t.end >= lo and t.start <= hi
    ]


def _to_schedule(team: TeamConfig, blocks: list[Block], facts: Facts, plan: Plan) -> Schedule:
    email = {p.id: p.email for p in team.people}
    slots = [Slot(b.id, b.start, b.end, email[plan[b.index][P]], email[plan[b.index][B]]) for b in blocks]
    return Schedule(
        rotation=team.rotation.name,
        timezone=team.timezone,
        people={p.email: {"id": p.id, "name": p.name} for p in team.people},
        slots=slots,
        overrides=day_overrides(slots, facts.critical, team.tz),
        holidays={d.isoformat(): n for d, n in facts.holidays.items()},
        pto=_pto_rows(team, blocks),
    )


def history_of(prev: Schedule | None, team: TeamConfig) -> History:
    """The previous schedule's last block, so a new year does not start with a back-to-back Primary."""
    if prev is None:
        return History()
    last = prev.slots[-1]
    ids = {p.email: p.id for p in team.people}
    return History(primary=ids.get(last.primary), backup=ids.get(last.backup))


def generate(
    team: TeamConfig,
    *,
    year: int | None = None,
    start: date | None = None,
    weeks: int | None = None,
    previous: Schedule | None = None,
) -> Schedule:
    """A fresh, optimal schedule for ISO `year`, or `start`/`weeks`, or the config's rotation window."""
    if year is not None:
        start, weeks = year_window(team, year)
    elif start is None or weeks is None:
        start, weeks = default_window(team)
    blocks = make_blocks(team, start, weeks)
    facts = build_facts(team, blocks)
    history = history_of(previous, team)
    if previous is not None and previous.slots[-1].end != blocks[0].start:
        history = History()  # not adjacent: nothing to carry over
    res = solve_rotation(
        facts,
        fairness_order=team.rotation.fairness_order,
        max_consecutive=team.rotation.max_consecutive_duty_weeks,
        seed=team.rotation.solver_seed,
        history=history,
    )
    sched = _to_schedule(team, blocks, facts, res.plan)
    sched.meta = {
        "inputs_sha256": _inputs_sha(team, blocks, facts),
        "solver": f"ortools-cp-sat {version('ortools')} (1 worker, seed {team.rotation.solver_seed})",
        "holidays_library": version("holidays"),
        "horizon": f"{blocks[0].id}..{blocks[-1].id} ({len(blocks)} weeks)",
    }
    sched.log.append({"kind": "generated", "stages": res.stages})
    for o in sched.overrides:
        log.info(
            "day override %s %s..%s: %s acts as primary (block %s)",
            o.holiday,
            o.start,
            o.end,
            o.primary,
            o.block,
        )
    return sched


def _blocks_of(schedule: Schedule, team: TeamConfig) -> list[Block]:
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    for b, s in zip(blocks, schedule.slots, strict=True):
        if (b.id, b.start, b.end) != (s.id, s.start, s.end):
            raise ConfigError(
                f"schedule block {s.id} ({s.start}..{s.end}) does not match team.yaml rotation.handoff "
                f"({b.start}..{b.end}); regenerate the schedule instead of re-planning it"
            )
    return blocks


def _plan_of(schedule: Schedule, team: TeamConfig) -> Plan:
    ids = {p.email: p.id for p in team.people}
    return {
        i: {P: ids.get(s.primary, s.primary), B: ids.get(s.backup, s.backup)}
        for i, s in enumerate(schedule.slots)
    }


@dataclass(frozen=True)
class Change:
    block: str
    role: str
    before: str
    after: str
    why: str
    in_freeze_window: bool


def replan(
    schedule: Schedule,
    team: TeamConfig,
    *,
    as_of: datetime,
    extra_pto: list[tuple[str, Pto]] = (),
    reason: str = "PTO change",
) -> tuple[Schedule, list[Change]]:
    """Make a published schedule honour the team's (and `extra_pto`) PTO with the fewest changes.

    Blocks that ended before `as_of` are history and never change. Blocks in the freeze window (the
    current block and those starting within `rotation.freeze_weeks`) change only if coverage forces
    it. Among the remaining choices: fairness no worse than published where possible, then the fewest
    changed assignments, then the best continuity.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    for ref, pto in extra_pto:
        team = team.with_pto(ref, pto)
    blocks = _blocks_of(schedule, team)
    facts = build_facts(team, blocks)
    published = _plan_of(schedule, team)
    freeze_end = as_of + timedelta(weeks=team.rotation.freeze_weeks)
    past = {b.index for b in blocks if b.end <= as_of}
    frozen = {b.index for b in blocks if b.end > as_of and b.start < freeze_end}
    for key in [k for k in facts.unavailable if k[1] in past]:
        del facts.unavailable[key]  # history is history, even if PTO is recorded late
    pinned = {(w, r): published[w][r] for w in past for r in ROLES}
    caps = {n: _spread(metric_values(facts, published, n)) for n in team.rotation.fairness_order}
    res = solve_rotation(
        facts,
        fairness_order=team.rotation.fairness_order,
        max_consecutive=team.rotation.max_consecutive_duty_weeks,
        seed=team.rotation.solver_seed,
        history=History(),
        pinned=pinned,
        published=published,
        frozen=frozen,
        spread_caps=caps,
    )
    email = {p.id: p.email for p in team.people}
    changes = []
    diffs = [(b, r) for b in blocks for r in ROLES if published[b.index][r] != res.plan[b.index][r]]
    forced = [f"{b.id} {r}" for b, r in diffs if (published[b.index][r], b.index) in facts.unavailable]
    for b, r in diffs:
        before, after = published[b.index][r], res.plan[b.index][r]
        why = facts.unavailable.get((before, b.index)) or (
            f"rebalance ({reason}) after {', '.join(forced) or 'the PTO change'}: keeps hard rules, fairness"
        )
        changes.append(Change(b.id, r, email.get(before, before), email[after], why, b.index in frozen))
    new = _to_schedule(team, blocks, facts, res.plan)
    new.meta = {**schedule.meta, "inputs_sha256": _inputs_sha(team, blocks, facts)}
    new.log = [
        *schedule.log,
        {
            "kind": "replan",
            "as_of": as_of.isoformat(),
            "reason": reason,
            "stages": res.stages,
            "pto_added": [
                {
                    "person": team.person(ref).email,
                    "start": t.start.isoformat(),
                    "end": t.end.isoformat(),
                    "reason": t.reason,
                }
                for ref, t in extra_pto
            ],
            "changes": [c.__dict__ for c in changes],
        },
    ]
    for c in changes:
        log.info(
            "replan %s %s: %s -> %s (%s)%s",
            c.block,
            c.role,
            c.before,
            c.after,
            c.why,
            " [inside freeze window: forced by coverage]" if c.in_freeze_window else "",
        )
    return new, changes


def _spread(values: dict[str, int]) -> int:
    return max(values.values()) - min(values.values())


def check_hard_rules(schedule: Schedule, team: TeamConfig) -> list[str]:
    """Every hard-rule violation in a schedule, independent of the solver (used by tests and `report`)."""
    out: list[str] = []
    people = {p.email: p for p in team.rotation_people}
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    facts = build_facts(team, blocks)
    k = team.rotation.max_consecutive_duty_weeks
    for i, s in enumerate(schedule.slots):
        if i and schedule.slots[i - 1].end != s.start:
            out.append(f"coverage: gap between {schedule.slots[i - 1].id} and {s.id}")
        if s.primary == s.backup:
            out.append(f"primary != backup: {s.id} has {s.primary} in both roles")
        for role, who in ((P, s.primary), (B, s.backup)):
            if who not in people:
                out.append(f"coverage: {s.id} {role} {who} is not a person in the rotation")
            elif (people[who].id, i) in facts.unavailable:
                out.append(f"PTO: {s.id} {role} is {facts.unavailable[people[who].id, i]}")
        if i and schedule.slots[i - 1].primary == s.primary:
            out.append(f"no back-to-back primary: {s.primary} in {schedule.slots[i - 1].id} and {s.id}")
        if k and i >= k:
            win = schedule.slots[i - k : i + 1]
            for who in (win[-1].primary, win[-1].backup):
                if all(who in (w.primary, w.backup) for w in win):
                    out.append(f"max consecutive duty weeks: {who} on duty {win[0].id}..{win[-1].id} (> {k})")
    return out
