"""Re-planning a published schedule for new PTO: few changes, freeze window respected, all logged."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from metrics_assets.oncall.planner import check_hard_rules, replan
from metrics_assets.oncall.report import fairness
from metrics_assets.oncall.schedule import Schedule, schedule_path
from metrics_assets.oncall.solver import RotationInfeasible
from metrics_core.team import Pto
from tests.test_oncall_helpers import default_team

IST = ZoneInfo("Asia/Kolkata")
AS_OF = datetime(2026, 6, 1, 10, 0, tzinfo=IST)  # freeze window: W23 (current), W24, W25


@pytest.fixture(scope="module")
def team():
    return default_team()


@pytest.fixture(scope="module")
def published() -> Schedule:
    return Schedule.load(schedule_path(2026))


def _slot(s: Schedule, block: str):
    return next(x for x in s.slots if x.id == block)


def test_pto_outside_the_freeze_window_changes_few_assignments(team, published: Schedule) -> None:
    w30 = _slot(published, "2026-W30")
    who = published.pid(w30.primary)
    pto = Pto(start=date(2026, 7, 21), end=date(2026, 7, 23), reason="wedding")
    new, changes = replan(published, team, as_of=AS_OF, extra_pto=[(who, pto)], reason="wedding")
    team2 = team.with_pto(who, pto)
    assert check_hard_rules(new, team2) == []
    assert w30.primary not in (_slot(new, "2026-W30").primary, _slot(new, "2026-W30").backup)
    assert 1 <= len(changes) <= 2 * 1 + 2  # notes' target: <= 2 x affected weeks + 2
    assert not any(c.in_freeze_window for c in changes)
    untouched = [s for s in published.slots if s.end <= AS_OF or s.start < AS_OF.replace(day=15)]
    assert all(_slot(new, s.id) == s for s in untouched)  # history and the freeze window kept
    before, after = fairness(published, team), fairness(new, team2)
    assert all(after.spreads[m] <= before.spreads[m] for m in before.spreads)  # fairness no worse
    entry = new.log[-1]
    assert entry["kind"] == "replan" and entry["reason"] == "wedding" and entry["as_of"] == AS_OF.isoformat()
    assert entry["pto_added"][0]["person"] == w30.primary
    first = next(c for c in entry["changes"] if c["block"] == "2026-W30")
    assert first["before"] == w30.primary and "on PTO 2026-07-21..2026-07-23 (wedding)" in first["why"]
    assert all(c["why"] for c in entry["changes"])


def test_pto_inside_the_freeze_window_changes_it_only_because_coverage_forces_it(team, published) -> None:
    w24 = _slot(published, "2026-W24")
    who = published.pid(w24.primary)
    pto = Pto(start=date(2026, 6, 9), end=date(2026, 6, 10), reason="sick")
    new, changes = replan(published, team, as_of=AS_OF, extra_pto=[(who, pto)])
    assert check_hard_rules(new, team.with_pto(who, pto)) == []
    frozen = [c for c in changes if c.in_freeze_window]
    assert any(c.block == "2026-W24" and c.role == "primary" and "sick" in c.why for c in frozen)
    assert new.log[-1]["stages"][0].startswith("changes_in_freeze_window=")
    assert all(_slot(new, s.id) == s for s in published.slots if s.end <= AS_OF)


def test_replan_without_new_pto_is_a_no_op(team, published) -> None:
    new, changes = replan(published, team, as_of=AS_OF)
    assert changes == [] and [s for s in new.slots] == published.slots


def test_pto_in_the_past_is_ignored_and_impossible_pto_is_named(team, published) -> None:
    past = Pto(start=date(2026, 1, 5), end=date(2026, 1, 9))
    new, changes = replan(published, team, as_of=AS_OF, extra_pto=[("AM", past)])
    assert changes == []
    everyone = [(p, Pto(start=date(2026, 9, 1), end=date(2026, 9, 3))) for p in ("AM", "PR", "CW")]
    with pytest.raises(RotationInfeasible, match=r"coverage.*2026-W36"):
        replan(published, team, as_of=AS_OF, extra_pto=everyone)
    with pytest.raises(ValueError, match="timezone-aware"):
        replan(published, team, as_of=datetime(2026, 6, 1))
