"""The rotation generator: an exact CP-SAT model, solved lexicographically.

The spec's hard rules (coverage, Primary != Backup, PTO and employment dates, no back-to-back
Primary) are constraints. The product's rest preference (at most `max_consecutive_duty_weeks` on duty
in a row) is soft: the windows over it are minimised first, so it holds whenever it can and never
makes a plan infeasible. Then fairness is minimised metric by metric in the configured order (each
optimum is then frozen; with joiners or leavers, against pro-rated shares), and continuity (Backup =
last week's Primary) is maximised last. One worker and a fixed seed make the result identical run to
run; a wall-clock limit bounds the whole solve, past which the best plan found is returned with its
gap. When the hard rules are proven infeasible, the model is re-solved with "no back-to-back primary"
soft to name the exact person, rule and weeks that break.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from ortools.sat.python import cp_model

from metrics_assets.oncall.blocks import Facts

P, B = "primary", "backup"
ROLES = (P, B)
MAX_DET_TIME = 60.0  # deterministic-time cap per stage (reproducible, unlike the wall-clock limit)


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
    def __init__(self, facts: Facts, history: History, max_consec: int | None, soft_b2b: bool = False):
        self.f = facts
        self.m = cp_model.CpModel()
        m, E, W = self.m, facts.people, facts.weeks
        self.x = {(e, w, r): m.NewBoolVar(f"x_{e}_{w}_{r}") for e in E for w in W for r in ROLES}
        self.violations: dict[str, tuple[str, str, list[int]]] = {}  # var name -> (rule, person, weeks)
        self.soft: list[cp_model.IntVar] = []  # diagnosis only: "no back-to-back primary" kept
        self.rest: list[tuple[cp_model.IntVar, str, list[int]]] = []  # (window over the limit, who, weeks)
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
                self._hard(x[e, 0, P] == 0, "no back-to-back primary", e, [-1, 0], soft_b2b)
            for w in W[:-1]:
                self._hard(
                    x[e, w, P] + x[e, w + 1, P] <= 1, "no back-to-back primary", e, [w, w + 1], soft_b2b
                )
            if max_consec:  # the rest preference: each window of k+1 weeks all on duty costs 1
                duty = [x[e, w, P] + x[e, w, B] for w in W]
                prev = int(e in (history.primary, history.backup))
                if prev and len(W) >= max_consec:
                    self._over(sum(duty[:max_consec]) + prev, max_consec, e, [-1, *range(max_consec)])
                for w in range(len(W) - max_consec):
                    win = list(range(w, w + max_consec + 1))
                    self._over(sum(duty[v] for v in win), max_consec, e, win)
        self.history = history
        self.scale: dict[str, int] = {}

    def _hard(
        self, ct: cp_model.BoundedLinearExpr, rule: str, person: str, weeks: list[int], soft: bool
    ) -> None:
        if not soft:
            self.m.Add(ct)
            return
        ok = self.m.NewBoolVar(f"ok_{rule}_{person}_{weeks[0]}")
        self.m.Add(ct).OnlyEnforceIf(ok)
        self.soft.append(ok)
        self.violations[ok.Name()] = (rule, person, weeks)

    def _over(self, duty: cp_model.LinearExpr, limit: int, person: str, weeks: list[int]) -> None:
        over = self.m.NewBoolVar(f"rest_{person}_{weeks[0]}")
        self.m.Add(duty <= limit).OnlyEnforceIf(over.Not())
        self.rest.append((over, person, weeks))

    def rest_penalty(self) -> cp_model.LinearExpr:
        return sum(v for v, _, _ in self.rest)

    # --- fairness metrics as linear expressions per person ---------------------------------------------
    def metric(self, name: str, e: str) -> cp_model.LinearExpr:
        x, f, W = self.x, self.f, self.f.weeks
        if name == "primary_weeks":
            return sum(x[e, w, P] for w in W)
        if name == "backup_weeks":
            return sum(x[e, w, B] for w in W)
        if name == "duty_weeks":
            return sum(x[e, w, P] + x[e, w, B] for w in W)
        if name == "holiday_days_primary":  # acting primary: nominal primary, or backup on a critical day
            return sum(x[e, w, P] * f.hol_normal[e, w] + x[e, w, B] * f.hol_critical[e, w] for w in W)
        if name == "holiday_days_backup":
            return sum(x[e, w, B] * f.hol_normal[e, w] + x[e, w, P] * f.hol_critical[e, w] for w in W)
        if name == "holiday_days":  # acting Primary + acting Backup: every holiday day on duty
            return sum((x[e, w, P] + x[e, w, B]) * (f.hol_normal[e, w] + f.hol_critical[e, w]) for w in W)
        if name == "weekend_days":
            return sum((x[e, w, P] + x[e, w, B]) * f.weekend[w] for w in W)
        raise KeyError(name)

    def spread(self, name: str) -> cp_model.LinearExpr:
        """max - min over people of the metric; with joiners or leavers, of (metric - pro-rated share),
        scaled by `scale` to stay integral (the reported spread is the objective / scale)."""
        E = self.f.people
        if self.f.uniform:
            exprs, scale = [self.metric(name, e) for e in E], 1
        else:
            share = shares(self.f, name)
            scale = math.lcm(*(q.denominator for q in share.values()))
            exprs = [scale * self.metric(name, e) - int(scale * share[e]) for e in E]
        ub = 8 * len(self.f.blocks) * scale
        lb = 0 if self.f.uniform else -ub
        hi, lo = self.m.NewIntVar(lb, ub, f"hi_{name}"), self.m.NewIntVar(lb, ub, f"lo_{name}")
        for ex in exprs:
            self.m.Add(hi >= ex)
            self.m.Add(lo <= ex)
        total = fixed_total(self.f, name)
        if total is not None and self.f.uniform:  # valid cuts: they make the bound tight, the search short
            self.m.Add(hi >= math.ceil(total / len(E)))
            self.m.Add(lo <= total // len(E))
        elif total is not None:  # shares add up to the total: someone is at or above it, someone below
            self.m.Add(hi >= 0)
            self.m.Add(lo <= 0)
        self.scale[name] = scale
        return hi - lo

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
        self,
        objective: cp_model.LinearExpr | None,
        maximize: bool,
        seed: int,
        seconds: float = 3600.0,
        det_time: float = MAX_DET_TIME,
    ) -> tuple[int, cp_model.CpSolver]:
        if objective is not None:
            (self.m.Maximize if maximize else self.m.Minimize)(objective)
        s = cp_model.CpSolver()
        s.parameters.num_workers = 1
        s.parameters.random_seed = seed
        s.parameters.max_deterministic_time = det_time
        s.parameters.max_time_in_seconds = max(seconds, 0.001)
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


def _diagnose(facts: Facts, history: History, seed: int, seconds: float) -> RotationInfeasible:
    """The model was proven infeasible: re-solve with "no back-to-back primary" soft to name who and when."""
    mdl = _Model(facts, history, None, soft_b2b=True)
    status, s = mdl.solve(sum(mdl.soft), maximize=True, seed=seed, seconds=seconds)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return RotationInfeasible("coverage", ["PTO leaves too few people to staff the horizon (proven)"])
    broken = [mdl.violations[v.Name()] for v in mdl.soft if not s.BooleanValue(v)]
    if not broken:  # cannot happen when the strict model was infeasible; be explicit rather than crash
        return RotationInfeasible("hard rules", ["proven infeasible, but the diagnosis found no broken rule"])
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
        elif name == "duty_weeks":
            out[p] += 1
            out[b] += 1
        elif name == "holiday_days_primary":  # acting primary: nominal primary, or backup on critical days
            out[p] += facts.hol_normal[p, w]
            out[b] += facts.hol_critical[b, w]
        elif name == "holiday_days_backup":
            out[b] += facts.hol_normal[b, w]
            out[p] += facts.hol_critical[p, w]
        elif name == "holiday_days":
            out[p] += facts.hol_normal[p, w] + facts.hol_critical[p, w]
            out[b] += facts.hol_normal[b, w] + facts.hol_critical[b, w]
        elif name == "weekend_days":
            out[p] += facts.weekend[w]
            out[b] += facts.weekend[w]
        else:
            raise KeyError(name)
    return out


def _amount(facts: Facts, name: str, e: str, w: int) -> int:
    """How much of the metric week `w` hands out to the people on duty, seen from person `e`'s calendar."""
    hol = facts.hol_normal[e, w] + facts.hol_critical[e, w]
    return {
        "primary_weeks": 1,
        "backup_weeks": 1,
        "duty_weeks": 2,
        "holiday_days_primary": hol,
        "holiday_days_backup": hol,
        "holiday_days": 2 * hol,
        "weekend_days": 2 * facts.weekend[w],
    }[name]


def fixed_total(facts: Facts, name: str) -> int | None:
    """The metric's sum over people when every plan gives the same (None when calendars differ)."""
    f, W, E = facts, facts.weeks, facts.people
    if name in ("primary_weeks", "backup_weeks"):
        return len(W)
    if name == "duty_weeks":
        return 2 * len(W)
    if name == "weekend_days":
        return 2 * sum(f.weekend[w] for w in W)
    same = all(
        f.hol_normal[e, w] == f.hol_normal[E[0], w] and f.hol_critical[e, w] == f.hol_critical[E[0], w]
        for e in E
        for w in W
    )
    days = sum(f.hol_normal[E[0], w] + f.hol_critical[E[0], w] for w in W)
    return (2 * days if name == "holiday_days" else days) if same else None


def lower_bound(facts: Facts, name: str) -> int | None:
    """The smallest spread any plan can have, from arithmetic alone (None with joiners or mixed calendars).

    Every value is a sum of per-week amounts, so a multiple of their gcd g: the best split of the total
    T is g * (ceil(T/g/n) - floor(T/g/n)). Weekend days come two per week, so 53 weeks give 2, not 1.
    """
    total = fixed_total(facts, name)
    if total is None or not facts.uniform:
        return None
    e0 = facts.people[0]
    g = math.gcd(*(_amount(facts, name, e0, w) // (2 if name in _BOTH_ROLES else 1) for w in facts.weeks))
    if g == 0:
        return 0
    n, t = len(facts.people), total // g
    return g * (-(-t // n) - t // n)


_BOTH_ROLES = ("duty_weeks", "holiday_days", "weekend_days")  # amounts count the Primary and the Backup


def shares(facts: Facts, name: str) -> dict[str, Fraction]:
    """Each person's fair share of a metric: every week's amount split evenly among the people with the
    team that week (PTO does not reduce a share -- it is swapped -- joining and leaving do)."""
    n = {w: sum(facts.employed[e, w] for e in facts.people) for w in facts.weeks}
    return {
        e: sum(
            (Fraction(_amount(facts, name, e, w), n[w]) for w in facts.weeks if facts.employed[e, w]),
            Fraction(0),
        )
        for e in facts.people
    }


def spread_of(facts: Facts, plan: Plan, name: str) -> Fraction:
    """max - min of the metric; with joiners or leavers, of the metric minus the person's share."""
    vals = metric_values(facts, plan, name)
    if facts.uniform:
        return Fraction(max(vals.values()) - min(vals.values()))
    share = shares(facts, name)
    dev = [vals[e] - share[e] for e in facts.people]
    return max(dev) - min(dev)


def rest_stretches(facts: Facts, plan: Plan, limit: int | None, history: History = History()) -> list[str]:
    """Each run of more than `limit` duty weeks in a row: where the soft rest preference gave way."""
    if not limit:
        return []
    out = []
    for e in facts.people:
        run: list[int] = [-1] if e in (history.primary, history.backup) else []
        for w in [*facts.weeks, None]:
            if w is not None and e in (plan[w][P], plan[w][B]):
                run.append(w)
                continue
            if len(run) > limit:
                weeks = [facts.blocks[v].id for v in run if v >= 0]
                out.append(
                    f"{e} on duty {len(run)} weeks in a row, {weeks[0]}..{weeks[-1]}"
                    + (" (continuing the previous schedule)" if run[0] < 0 else "")
                    + f" (preference: at most {limit})"
                )
            run = []
    return out


def rest_windows_over(facts: Facts, plan: Plan, limit: int | None, history: History = History()) -> int:
    """The model's rest penalty for a plan: windows of limit+1 weeks with a person on duty in all."""
    if not limit:
        return 0
    out = 0
    for e in facts.people:
        duty = [int(e in (history.primary, history.backup))] + [
            int(e in (plan[w][P], plan[w][B])) for w in facts.weeks
        ]
        if not duty[0]:
            duty = duty[1:]
        out += sum(all(duty[i : i + limit + 1]) for i in range(len(duty) - limit))
    return out


def objective_key(
    facts: Facts, plan: Plan, order: Iterable[str], limit: int | None, history: History = History()
) -> tuple[Fraction, ...]:
    """A fresh plan's lexicographic objective (smaller is better): rest penalty, spreads, -continuity."""
    cont = sum(plan[w][B] == (plan[w - 1][P] if w else history.primary) for w in facts.weeks)
    return (
        Fraction(rest_windows_over(facts, plan, limit, history)),
        *(spread_of(facts, plan, n) for n in order),
        Fraction(-cont),
    )


class RotationTimeout(ValueError):
    """No plan was found within the wall-clock limit; infeasibility was NOT proven."""


@dataclass
class SolveResult:
    plan: Plan
    spreads: dict[str, Fraction]
    continuity: int
    stages: list[str]
    optimal: bool = True  # every stage proven optimal within the time limit
    gaps: dict[str, int] = field(default_factory=dict)  # stage -> objective - best bound, when not proven
    seconds: float = 0.0
    rest_exceptions: list[str] = field(default_factory=list)


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
    spread_caps: dict[str, Fraction] | None = None,
    time_limit_s: float = 10.0,
    det_time: float = MAX_DET_TIME,
) -> SolveResult:
    """Solve the lexicographic model within `time_limit_s` of wall clock for all stages together.

    For a fresh plan pass only facts and rules. For re-planning also pass `pinned` (past blocks, kept
    as they were), `published` (the plan to stay close to) and `frozen` (block indexes in the freeze
    window): frozen changes are minimised first, then the weeks over the rest preference, then fairness
    (metrics in `spread_caps` kept no worse than those caps when possible, the others minimised in
    order), then the number of changed assignments, then continuity is maximised.

    Past the time limit the best plan found so far is returned, `optimal` False and the gap of each
    unproven stage recorded (later stages are skipped). RotationInfeasible is raised only when the
    solver proved the hard rules cannot hold; RotationTimeout when no plan was found in time.
    """
    t0 = time.monotonic()

    def left() -> float:
        return time_limit_s - (time.monotonic() - t0)

    _coverage_check(facts)
    mdl = _Model(facts, history, max_consec=max_consecutive)
    for (w, r), e in (pinned or {}).items():
        mdl.m.Add(mdl.x[e, w, r] == 1)
    stages: list[str] = []
    gaps: dict[str, int] = {}
    status, first = mdl.solve(None, False, seed, left(), det_time)
    if status == cp_model.INFEASIBLE:
        raise _diagnose(facts, history, seed, max(left(), 1.0))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RotationTimeout(
            f"no plan found within the solver time limit ({time_limit_s:g} s, rotation.solver_time_limit_s)"
            f"; status {first.StatusName(status)} -- the rules were not proven infeasible, raise the limit"
        )
    last: list[cp_model.CpSolver] = [first]

    def changes(weeks: Iterable[int]) -> cp_model.LinearExpr:
        assert published is not None
        out = []
        for w in weeks:
            for r in ROLES:
                e = published[w][r]
                keep = (e, w) not in facts.unavailable and e in facts.people
                out.append(1 - mdl.x[e, w, r] if keep else 1)
        return sum(out)

    def fix(expr: cp_model.LinearExpr, maximize: bool, label: str, scale: int = 1) -> None:
        if left() <= 0:  # out of time: keep the plan found so far
            stages.append(f"{label} skipped (time limit)")
            gaps.setdefault(label, -1)
            return
        status, s = mdl.solve(expr, maximize, seed, left(), det_time)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            stages.append(f"{label} skipped (no solution in time)")
            gaps[label] = -1
            return
        best = round(s.ObjectiveValue())
        mdl.m.Add(expr >= best if maximize else expr <= best)
        shown = f"{Fraction(best, scale)}" if scale != 1 else f"{best}"
        if status == cp_model.OPTIMAL:
            stages.append(f"{label}={shown}")
        else:
            bound = s.BestObjectiveBound()
            gap = abs(best - (math.floor(bound) if maximize else math.ceil(bound)))
            gaps[label] = gap
            stages.append(f"{label}={shown} (not proven optimal: gap {Fraction(gap, scale)}, time limit)")
        last[:] = [s]

    if published is not None and frozen:
        fix(changes(sorted(frozen)), False, "changes_in_freeze_window")
    if mdl.rest:
        fix(mdl.rest_penalty(), False, "rest_exceptions")
    order = list(fairness_order)
    if spread_caps:  # keep these no worse than published if that is possible at all
        ok = mdl.m.NewBoolVar("within_published_spreads")
        for name in spread_caps:
            sp = mdl.spread(name)
            mdl.m.Add(sp <= int(spread_caps[name] * mdl.scale[name])).OnlyEnforceIf(ok)
        mdl.m.AddAssumptions([ok])
        status, _ = mdl.solve(None, False, seed, max(left(), 0.001), det_time)
        mdl.m.ClearAssumptions()
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            mdl.m.Add(ok == 1)
            stages.append("spreads<=published")
            order = [n for n in order if n not in spread_caps]
    for name in order:
        expr = mdl.spread(name)
        fix(expr, False, f"spread_{name}", mdl.scale[name])
    if published is not None:
        fix(changes(facts.weeks), False, "changes")
    cont_expr = mdl.continuity()
    fix(cont_expr, True, "continuity")
    plan = mdl.plan(last[0])
    cont = sum(plan[w][B] == (plan[w - 1][P] if w else history.primary) for w in facts.weeks)
    return SolveResult(
        plan=plan,
        spreads={name: spread_of(facts, plan, name) for name in fairness_order},
        continuity=cont,
        stages=stages,
        optimal=not gaps,
        gaps=gaps,
        seconds=time.monotonic() - t0,
        rest_exceptions=rest_stretches(facts, plan, max_consecutive, history),
    )
