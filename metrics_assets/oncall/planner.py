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
from functools import partial
from importlib.metadata import version
from typing import Any

from metrics_assets.oncall.blocks import Block, Facts, build_facts, default_window, make_blocks, year_window
from metrics_assets.oncall.schedule import Schedule, Slot, day_overrides
from metrics_assets.oncall.solver import (
    ROLES,
    B,
    History,
    P,
    Plan,
    SolveResult,
    lower_bound,
    objective_key,
    rest_stretches,
    solve_rotation,
    spread_of,
)
from metrics_core.config import ConfigError
from metrics_core.team import Pto, TeamConfig

log = logging.getLogger(__name__)


def _inputs_sha(team: TeamConfig, blocks: list[Block], facts: Facts) -> str:
    payload = {
        # what the rotation is solved from; approvers (publication policy), owner teams (routing) and
        # how far ahead the schedule is kept do not change a plan
        "team": team.model_dump(mode="json", exclude={
            "approvers": True, "teams": True,
            "rotation": {"keep_ahead_weeks", "warn_ahead_weeks", "keep_ahead_cron"}}),
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
    keep: Schedule | None = None,
) -> Schedule:
    """A fresh, optimal schedule for ISO `year`, or `start`/`weeks`, or the config's rotation window.

    `keep`: the schedule published for the same blocks, if any. When it holds every hard rule and is
    as good as the solved plan at every lexicographic stage it is returned slot for slot (who is on
    call does not move for an equally fair plan); otherwise the solved plan is.
    """
    if year is not None:
        start, weeks = year_window(team, year)
    elif start is None or weeks is None:
        start, weeks = default_window(team)
    blocks = make_blocks(team, start, weeks)
    facts = build_facts(team, blocks)
    history = history_of(previous, team)
    if previous is not None and previous.slots[-1].end != blocks[0].start:
        history = History()  # not adjacent: nothing to carry over
    rot = team.rotation
    res = solve_rotation(
        facts,
        fairness_order=rot.fairness_metrics,
        max_consecutive=rot.max_consecutive_duty_weeks,
        seed=rot.solver_seed,
        history=history,
        time_limit_s=rot.solver_time_limit_s,
    )
    kept = _keepable(keep, team, blocks, facts, res, history)
    if kept is not None:
        res.plan = kept
        res.stages = [*res.stages, "kept the published plan (as good at every stage)"]
        res.spreads = {n: spread_of(facts, kept, n) for n in rot.fairness_metrics}
        res.rest_exceptions = rest_stretches(facts, kept, rot.max_consecutive_duty_weeks, history)
    sched = _to_schedule(team, blocks, facts, res.plan)
    sched.meta = {
        "inputs_sha256": _inputs_sha(team, blocks, facts),
        "solver": f"ortools-cp-sat {version('ortools')} (1 worker, seed {rot.solver_seed}, "
        f"limit {rot.solver_time_limit_s:g} s)",
        "holidays_library": version("holidays"),
        "horizon": f"{blocks[0].id}..{blocks[-1].id} ({len(blocks)} weeks)",
    }
    sched.log.append(_solve_entry("generated", res))
    _log_solve("generate", res)
    for entry in placements(team, facts, res.plan):
        sched.log.append(entry)
        log.info("%s", entry["text"])
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


def _keepable(
    keep: Schedule | None,
    team: TeamConfig,
    blocks: list[Block],
    facts: Facts,
    res: SolveResult,
    history: History,
) -> Plan | None:
    """`keep`'s plan when it covers the same blocks, holds every hard rule and is as good as the solved
    plan at every lexicographic stage; else None (the solved plan stands)."""
    if keep is None or [(s.id, s.start) for s in keep.slots] != [(b.id, b.start) for b in blocks]:
        return None
    if check_hard_rules(keep, team):
        return None
    plan = _plan_of(keep, team)
    rot = team.rotation
    if history.primary is not None and plan[0][P] == history.primary:
        return None  # back-to-back across the year boundary
    key = partial(objective_key, facts, order=rot.fairness_metrics, limit=rot.max_consecutive_duty_weeks)
    return plan if key(plan, history=history) <= key(res.plan, history=history) else None


def _solve_entry(kind: str, res: SolveResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": kind, "stages": res.stages, "optimal": res.optimal}
    if res.rest_exceptions:
        entry["rest_exceptions"] = res.rest_exceptions
    return entry


def _log_solve(what: str, res: SolveResult) -> None:
    if not res.optimal:
        log.warning(
            "%s: solver time limit reached after %.1f s; best plan found returned, not proven optimal: %s",
            what,
            res.seconds,
            "; ".join(x for x in res.stages if "not proven" in x or "skipped" in x),
        )
    for r in res.rest_exceptions:
        log.info("%s: rest preference given way: %s", what, r)


def placements(team: TeamConfig, facts: Facts, plan: Plan) -> list[dict[str, Any]]:
    """Where each PTO (and each join/leave date) put the person off duty, and who covers those blocks."""
    email = {p.id: p.email for p in team.people}
    out: list[dict[str, Any]] = []
    for pid, pto, weeks in facts.pto:
        cover = [
            {"block": facts.blocks[w].id, "primary": email[plan[w][P]], "backup": email[plan[w][B]]}
            for w in weeks
        ]
        text = f"PTO {pid} {pto.start}..{pto.end} ({pto.reason}): kept off " + ", ".join(
            f"{facts.blocks[w].id} (primary {plan[w][P]}, backup {plan[w][B]})" for w in weeks
        )
        out.append(
            {
                "kind": "pto",
                "person": email[pid],
                "start": pto.start.isoformat(),
                "end": pto.end.isoformat(),
                "reason": pto.reason,
                "blocks": cover,
                "text": text,
            }
        )
    for p in team.rotation_people:
        on = [w for w in facts.weeks if facts.employed[p.id, w]]
        if on and len(on) == len(facts.blocks):
            continue
        span = f"{facts.blocks[on[0]].id}..{facts.blocks[on[-1]].id}" if on else "no block"
        text = (
            f"{p.id} with the team {p.start or 'before the horizon'}..{p.end or 'after it'}: "
            f"{len(on)} of {len(facts.blocks)} blocks available ({span}), duty pro-rated"
        )
        out.append(
            {
                "kind": "employment",
                "person": p.email,
                "start": p.start.isoformat() if p.start else None,
                "end": p.end.isoformat() if p.end else None,
                "blocks_available": len(on),
                "text": text,
            }
        )
    return out


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
    rot = team.rotation
    # Fairness no worse than published, for each figure the published plan already meets (<= 1, or the
    # best the arithmetic allows); a figure it does not meet (a joiner with no blocks yet) is re-balanced.
    caps = {}
    for n in rot.fairness_metrics:
        sp = spread_of(facts, published, n)
        if sp <= max(1, lower_bound(facts, n) or 0):
            caps[n] = sp
    res = solve_rotation(
        facts,
        fairness_order=rot.fairness_metrics,
        max_consecutive=rot.max_consecutive_duty_weeks,
        seed=rot.solver_seed,
        history=History(),
        pinned=pinned,
        published=published,
        frozen=frozen,
        spread_caps=caps,
        time_limit_s=rot.solver_time_limit_s,
    )
    _log_solve("replan", res)
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
            "optimal": res.optimal,
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


def check_hard_rules(schedule: Schedule, team: TeamConfig) -> list[str]:
    """Every hard-rule violation in a schedule, independent of the solver (used by tests and `report`).

    The spec's rules only: coverage, Primary != Backup, PTO and employment dates, no back-to-back
    Primary. The rest preference is soft; see `rest_exceptions`.
    """
    out: list[str] = []
    people = {p.email: p for p in team.rotation_people}
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    facts = build_facts(team, blocks)
    for i, s in enumerate(schedule.slots):
        if i and schedule.slots[i - 1].end != s.start:
            out.append(f"coverage: gap between {schedule.slots[i - 1].id} and {s.id}")
        if s.primary == s.backup:
            out.append(f"primary != backup: {s.id} has {s.primary} in both roles")
        for role, who in ((P, s.primary), (B, s.backup)):
            if who not in people:
                out.append(f"coverage: {s.id} {role} {who} is not a person in the rotation")
            elif (people[who].id, i) in facts.unavailable:
                why = facts.unavailable[people[who].id, i]
                out.append(f"{'PTO' if ' on PTO ' in why else 'employment'}: {s.id} {role} is {why}")
        if i and schedule.slots[i - 1].primary == s.primary:
            out.append(f"no back-to-back primary: {s.primary} in {schedule.slots[i - 1].id} and {s.id}")
    return out


def rest_exceptions(schedule: Schedule, team: TeamConfig) -> list[str]:
    """Where the schedule has someone on duty more weeks in a row than the rest preference asks."""
    blocks = make_blocks(team, schedule.start.astimezone(team.tz).date(), len(schedule.slots))
    facts = build_facts(team, blocks)
    plan = _plan_of(schedule, team)
    if any(plan[w][r] not in facts.people for w in plan for r in ROLES):
        return []  # someone outside the rotation: a hard-rule violation, reported by check_hard_rules
    return rest_stretches(facts, plan, team.rotation.max_consecutive_duty_weeks)
