"""Property tests: random teams of 3-8 with random PTO and holidays. The hard rules always hold, or
the generator raises RotationInfeasible naming the constraint and a week."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics_assets.oncall.lookup import OnCallLookup
from metrics_assets.oncall.planner import check_hard_rules, generate
from metrics_assets.oncall.report import fairness
from metrics_assets.oncall.solver import RotationInfeasible
from tests.test_oncall_helpers import make_team

START = date(2026, 1, 5)


@st.composite
def teams(draw: st.DrawFn):
    n = draw(st.integers(3, 8))
    weeks = draw(st.integers(3, 14))
    span = weeks * 7
    pto = {}
    for i in range(n):
        k = draw(st.integers(0, 2))
        pto[i] = []
        for _ in range(k):
            s = START + timedelta(days=draw(st.integers(0, span)))
            pto[i].append((s, s + timedelta(days=draw(st.integers(0, 12)))))
    days = draw(st.lists(st.integers(0, span), max_size=6, unique=True))
    additions = [(START + timedelta(days=d), f"Holiday {d}", draw(st.booleans())) for d in days]
    max_consec = draw(st.sampled_from([2, 3, None]))
    return make_team(n, weeks=weeks, pto=pto, additions=additions, max_consecutive=max_consec)


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(teams())
def test_hard_rules_hold_or_the_error_names_the_constraint(team) -> None:  # noqa: ANN001
    try:
        sched = generate(team)
    except RotationInfeasible as err:
        assert err.constraint in ("coverage", "no back-to-back primary")  # the rest rule is soft
        assert err.details and all("-W" in d for d in err.details), err  # names a week
        assert any(p.id in str(err) for p in team.people), err  # and a person
        return
    assert check_hard_rules(sched, team) == []
    f = fairness(sched, team)
    assert f.spreads["primary_weeks"] >= f.lower_bounds["primary_weeks"]
    lookup = OnCallLookup(sched)
    for slot in sched.slots:  # who(t) is constant inside a block except on override days
        oc = lookup.who(slot.start)
        assert {oc.primary, oc.backup} == {slot.primary, slot.backup}


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(3, 8), st.integers(2, 10))
def test_without_pto_primary_and_backup_weeks_are_as_even_as_arithmetic_allows(n: int, weeks: int) -> None:
    team = make_team(n, weeks=weeks, max_consecutive=None)
    f = fairness(generate(team), team)
    assert f.spreads["primary_weeks"] == f.lower_bounds["primary_weeks"] <= 1
    assert f.spreads["backup_weeks"] == f.lower_bounds["backup_weeks"] <= 1
