"""The rotation generator: an exact CP-SAT model, solved lexicographically.

Hard rules (coverage, Primary != Backup, PTO, no back-to-back Primary, optional max consecutive duty
weeks) are constraints; fairness is minimised metric by metric in the configured order (each optimum
is then frozen), and continuity (Backup = last week's Primary) is maximised last. One worker and a
fixed seed make the result identical run to run. When the hard rules cannot all hold, the model is
re-solved with the rest rules soft to name the exact person, rule and weeks that break.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from metrics_assets.oncall.blocks import Facts

P, B = "primary", "backup"
ROLES = (P, B)
_MAX_DET_TIME = 60.0  # deterministic-time cap per stage (reproducible, unlike a wall-clock limit)


class RotationInfeasible(ValueError):
    """The hard rules cannot all hold; names the constraint, person(s) and week(s)."""

    def __init__(self, constraint: str, details: list[str]):
        self.constraint = constraint
        self.details = details
        super().__init__(f"rotation infeasible ({constraint}): " + "; ".join(details))


@dataclass(frozen=True)
class History:
    """The last block before the horizon (for no back-to-back Primary and continuity across years)."""

    primary: str | None = None
    backup: str | None = None


Plan = dict[int, dict[str, str]]  # block index -> role -> person id


class _Model:
    def __init__(self, facts: Facts, history: History, max_consec: int | None, soft_rest: bool = False):
        self.f = facts
        self.m = cp_model.CpModel()
        m, E, W = self.m, facts.people, facts.weeks
        self.x = {(e, w, r): m.NewBoolVar(f"x_{e}_{w}_{r}") for e in E for w in W for r in ROLES}
        self.violations: dict[str, tuple[str, str, list[int]]] = {}  # var name -> (rule, person, weeks)
        self.soft: list[cp_model.IntVar] = []
        x = self.x
        for w in W:
            for r in ROLES:
                m.AddExactlyOne(x[e, w, r] for e in E)
            for e in E:
                m.Add(x[e, w, P] + x[e, w, B] <= 1)
                if (e, w) in facts.unavailable:
                    m.Add(x[e, w, P] == 0)
                    m.Add(x[e, w, B] == 0)
        for e in E:
            if history.primary == e and len(W):
                self._rest(x[e, 0, P] == 0, "no back-to-back primary", e, [-1, 0], soft_rest)
            for w in W[:-1]:
                self._rest(
                    x[e, w, P] + x[e, w + 1, P] <= 1, "no back-to-back primary", e, [w, w + 1], soft_rest
                )
            if max_consec:
                duty = [x[e, w, P] + x[e, w, B] for w in W]
                prev = int(e in (history.primary, history.backup))
                if prev and len(W) >= max_consec:
                    self._rest(
                        sum(duty[:max_consec]) + prev <= max_consec,
                        "max consecutive duty weeks",
                        e,
                        [-1, *range(max_consec)],
                        soft_rest,
                    )
                for w in range(len(W) - max_consec):
                    win = list(range(w, w + max_consec + 1))
                    self._rest(
                        sum(duty[v] for v in win) <= max_consec,
                        "max consecutive duty weeks",
                        e,
                        win,
                        soft_rest,
                    )
        self.history = history

    def _rest(
        self, ct: cp_model.BoundedLinearExpression, rule: str, person: str, weeks: list[int], soft: bool
    ):
        if not soft:
            self.m.Add(ct)
            return
        ok = self.m.NewBoolVar(f"ok_{rule}_{person}_{weeks[0]}")
        self.m.Add(ct).OnlyEnforceIf(ok)
        self.soft.append(ok)
        self.violations[ok.Name()] = (rule, person, weeks)

    # --- fairness metrics as linear expressions per person ---------------------------------------------
    def metric(self, name: str, e: str) -> cp_model.LinearExpr:
        x, f, W = self.x, self.f, self.f.weeks
        if name == "primary_weeks":
            return sum(x[e, w, P] for w in W)
        if name == "backup_weeks":
            return sum(x[e, w, B] for w in W)
        if name == "holiday_days_primary":  # acting primary: nominal primary, or backup on a critical day
            return sum(x[e, w, P] * f.hol_normal[e, w] + x[e, w, B] * f.hol_critical[e, w] for w in W)
        if name == "holiday_days_backup":
            return sum(x[e, w, B] * f.hol_normal[e, w] + x[e, w, P] * f.hol_critical[e, w] for w in W)
        if name == "weekend_days":
            return sum((x[e, w, P] + x[e, w, B]) * f.weekend[w] for w in W)
        raise KeyError(name)

    def spread(self, name: str) -> cp_model.IntVar:
        E = self.f.people
        exprs = [self.metric(name, e) for e in E]
        ub = 8 * len(self.f.blocks)
        hi, lo = self.m.NewIntVar(0, ub, f"hi_{name}"), self.m.NewIntVar(0, ub, f"lo_{name}")
        for ex in exprs:
            self.m.Add(hi >= ex)
            self.m.Add(lo <= ex)
        total = self._fixed_total(name)
        if total is not None:  # valid cuts: they make the bound tight and the search short
            self.m.Add(hi >= math.ceil(total / len(E)))
            self.m.Add(lo <= total // len(E))
        return hi - lo

    def _fixed_total(self, name: str) -> int | None:
        f, W, E = self.f, self.f.weeks, self.f.people
        if name in ("primary_weeks", "backup_weeks"):
            return len(W)
        if name == "weekend_days":
            return 2 * sum(f.weekend[w] for w in W)
        same = all(
            f.hol_normal[e, w] == f.hol_normal[E[0], w] and f.hol_critical[e, w] == f.hol_critical[E[0], w]
            for e in E
            for w in W
        )
        return sum(f.hol_normal[E[0], w] + f.hol_critical[E[0], w] for w in W) if same else None

    def continuity(self) -> cp_model.LinearExpr:
        x, E, W = self.x, self.f.people, self.f.weeks
        terms = []
        for w in W:
            ys = []
            for e in E:
                if w == 0 and self.history.primary != e:
                    continue
                y = self.m.NewBoolVar(f"cont_{e}_{w}")
                if w > 0:
                    self.m.Add(y <= x[e, w - 1, P])
                self.m.Add(y <= x[e, w, B])
                ys.append(y)
            if ys:
                self.m.AddAtMostOne(ys)  # one backup per week: keeps the LP bound tight
            terms += ys
        return sum(terms)

    # --- solving ------------------------------------------------------------------------------------------
    def solve(
        self, objective: cp_model.LinearExpr | None, maximize: bool, seed: int
    ) -> tuple[int, cp_model.CpSolver]:
        if objective is not None:
            (self.m.Maximize if maximize else self.m.Minimize)(objective)
        s = cp_model.CpSolver()
        s.parameters.num_workers = 1
        s.parameters.random_seed = seed
        s.parameters.max_deterministic_time = _MAX_DET_TIME
        s.parameters.linearization_level = 2  # full LP relaxation: the continuity stage proves 10x faster
        status = s.Solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return status, s
        self.m.ClearHints()
        for _k, v in self.x.items():
            self.m.AddHint(v, s.BooleanValue(v))
        return status, s

    def plan(self, s: cp_model.CpSolver) -> Plan:
        out: Plan = {}
        for (e, w, r), v in self.x.items():
            if s.BooleanValue(v):
                out.setdefault(w, {})[r] = e
        return out


def _week_label(facts: Facts, w: int) -> str:
    return "previous schedule's last week" if w < 0 else facts.blocks[w].id


def _coverage_check(facts: Facts) -> None:
    for w in facts.weeks:
        free = [e for e in facts.people if (e, w) not in facts.unavailable]
        if len(free) < 2:
            away = [facts.unavailable[e, w] for e in facts.people if (e, w) in facts.unavailable]
            raise RotationInfeasible(
                "coverage",
                [
                    f"week {facts.blocks[w].id} ({facts.blocks[w].start:%Y-%m-%d}) has {len(free)} available "
                    f"person(s) {free} but needs a Primary and a distinct Backup: " + ", ".join(away)
                ],
            )


def _diagnose(facts: Facts, history: History, max_consec: int | None, seed: int) -> RotationInfeasible:
    mdl = _Model(facts, history, max_consec, soft_rest=True)
    status, s = mdl.solve(sum(mdl.soft), maximize=True, seed=seed)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return RotationInfeasible("coverage", ["PTO leaves too few people to staff the horizon"])
    broken = [mdl.violations[v.Name()] for v in mdl.soft if not s.BooleanValue(v)]
    rule = broken[0][0]
    details = []
    for r, person, weeks in broken:
        if r != rule:
            continue
        away = sorted(
            {facts.unavailable[e, w] for e in facts.people for w in weeks if (e, w) in facts.unavailable}
        )
        span = ", ".join(_week_label(facts, w) for w in weeks)
        details.append(
            f"{person} would break '{r}' in {span}" + (f" (because {'; '.join(away)})" if away else "")
        )
    return RotationInfeasible(rule, details)


def metric_values(facts: Facts, plan: Plan, name: str) -> dict[str, int]:
    """The fairness metric per person for a plan (the same arithmetic as the model's expressions)."""
    out = dict.fromkeys(facts.people, 0)
    for w in facts.weeks:
        p, b = plan[w][P], plan[w][B]
        if name == "primary_weeks":
            out[p] += 1
        elif name == "backup_weeks":
            out[b] += 1
        elif name == "holiday_days_primary":  # acting primary: nominal primary, or backup on critical days
            out[p] += facts.hol_normal[p, w]
            out[b] += facts.hol_critical[b, w]
        elif name == "holiday_days_backup":
            out[b] += facts.hol_normal[b, w]
            out[p] += facts.hol_critical[p, w]
        elif name == "weekend_days":
            out[p] += facts.weekend[w]
            out[b] += facts.weekend[w]
        else:
            raise KeyError(name)
    return out


def _spread(facts: Facts, plan: Plan, name: str) -> int:
    vals = metric_values(facts, plan, name).values()
    return max(vals) - min(vals)


@dataclass
class SolveResult:
    plan: Plan
    spreads: dict[str, int]
    continuity: int
    stages: list[str]


def solve_rotation(
    facts: Facts,
    *,
    fairness_order: Iterable[str],
    max_consecutive: int | None,
    seed: int = 0,
    history: History = History(),
    pinned: dict[tuple[int, str], str] | None = None,
    published: Plan | None = None,
    frozen: set[int] = frozenset(),
    spread_caps: dict[str, int] | None = None,
) -> SolveResult:
    """Solve the lexicographic model.

    For a fresh plan pass only facts and rules. For re-planning also pass `pinned` (past blocks, kept
    as they were), `published` (the plan to stay close to) and `frozen` (block indexes in the freeze
    window): frozen changes are minimised first, then fairness (capped at `spread_caps` when given,
    else lexicographic), then the number of changed assignments, then continuity is maximised.
    """
    _coverage_check(facts)
    mdl = _Model(facts, history, max_consec=max_consecutive)
    for (w, r), e in (pinned or {}).items():
        mdl.m.Add(mdl.x[e, w, r] == 1)
    stages: list[str] = []
    status, _ = mdl.solve(None, False, seed)
    if status == cp_model.INFEASIBLE:
        raise _diagnose(facts, history, max_consecutive, seed)

    def changes(weeks: Iterable[int]) -> cp_model.LinearExpr:
        assert published is not None
        out = []
        for w in weeks:
            for r in ROLES:
                e = published[w][r]
                keep = (e, w) not in facts.unavailable and e in facts.people
                out.append(1 - mdl.x[e, w, r] if keep else 1)
        return sum(out)

    last: list[cp_model.CpSolver] = []

    def fix(expr: cp_model.LinearExpr, maximize: bool, label: str) -> int:
        status, s = mdl.solve(expr, maximize, seed)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RotationInfeasible(label, [f"solver status {s.StatusName(status)} at stage {label}"])
        best = round(s.ObjectiveValue())
        mdl.m.Add(expr >= best if maximize else expr <= best)
        stages.append(f"{label}={best}{'' if status == cp_model.OPTIMAL else ' (not proven optimal)'}")
        last[:] = [s]
        return best

    if published is not None and frozen:
        fix(changes(sorted(frozen)), False, "changes_in_freeze_window")
    spreads: dict[str, int] = {}
    order = list(fairness_order)
    if spread_caps:  # keep fairness no worse than published if that is possible at all
        ok = mdl.m.NewBoolVar("within_published_spreads")
        for name in order:
            mdl.m.Add(mdl.spread(name) <= spread_caps[name]).OnlyEnforceIf(ok)
        mdl.m.AddAssumptions([ok])
        status, _ = mdl.solve(None, False, seed)
        mdl.m.ClearAssumptions()
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            mdl.m.Add(ok == 1)
            stages.append("spreads<=published")
            order = []
    for name in order:
        spreads[name] = fix(mdl.spread(name), False, f"spread_{name}")
    if published is not None:
        fix(changes(facts.weeks), False, "changes")
    cont = fix(mdl.continuity(), True, "continuity")
    plan = mdl.plan(last[0])
    spreads = {name: _spread(facts, plan, name) for name in fairness_order}
    return SolveResult(plan=plan, spreads=spreads, continuity=cont, stages=stages)
