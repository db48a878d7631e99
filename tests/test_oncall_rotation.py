"""The generator: acceptance figures for the default team over 2026, determinism, infeasibility."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from metrics_assets.oncall.planner import check_hard_rules, generate, rest_exceptions
from metrics_assets.oncall.report import fairness, fairness_text, table_text
from metrics_assets.oncall.schedule import Schedule, schedule_path
from metrics_assets.oncall.solver import RotationInfeasible
from tests.test_oncall_helpers import default_team, make_team


@pytest.fixture(scope="module")
def team():
    return default_team()


@pytest.fixture(scope="module")
def year(team) -> Schedule:
    return generate(team, year=2026)


def test_default_team_2026_meets_every_target(team, year: Schedule) -> None:
    assert year.slots[0].start.isoformat() == "2025-12-29T09:00:00+05:30"  # ISO 2026-W01, Monday 09:00 IST
    assert year.slots[-1].end.isoformat() == "2027-01-04T09:00:00+05:30"
    assert len(year.slots) == 53
    assert all(a.end == b.start for a, b in zip(year.slots, year.slots[1:], strict=False))  # no gap
    assert check_hard_rules(year, team) == []
    f = fairness(year, team)
    assert f.spreads["primary_weeks"] <= 1 and f.spreads["backup_weeks"] <= 1
    assert f.spreads["holiday_days_primary"] <= 1 and f.spreads["holiday_days_backup"] <= 1
    assert f.spreads == f.lower_bounds  # proven as good as any schedule can be (weekend: 106 duty weeks / 4)
    assert f.continuity_pct >= 90
    assert "hard rules: all hold" in fairness_text(year, team)


def test_critical_holidays_become_logged_day_overrides(year: Schedule, caplog) -> None:
    names = {o.holiday for o in year.overrides}
    assert names == {"Republic Day", "Holi", "Independence Day", "Diwali"}
    holi = next(o for o in year.overrides if o.holiday == "Holi")
    slot = next(s for s in year.slots if s.id == holi.block)
    assert (holi.primary, holi.backup) == (slot.backup, slot.primary)
    assert (
        holi.start.isoformat() == "2026-03-04T00:00:00+05:30"
        and holi.end.isoformat() == "2026-03-05T00:00:00+05:30"
    )
    rd = [o for o in year.overrides if o.holiday == "Republic Day"]  # a Monday: split at the 09:00 handoff
    assert [o.block for o in rd] == ["2026-W04", "2026-W05"]
    assert "Holi" in table_text(year, default_team())


def test_generation_is_deterministic_and_the_published_file_is_current(team, year: Schedule) -> None:
    assert generate(team, year=2026).to_json() == year.to_json()
    published = Schedule.load(schedule_path(2026))
    assert check_hard_rules(published, team) == [], "team.yaml changed (PTO?): run `metrics oncall replan`"
    if not any(e["kind"] == "replan" for e in published.log):
        # `oncall generate` starts from the published file and keeps it while it is as good at every
        # stage (who is on call does not move for an equally fair plan)
        again = generate(team, year=2026, keep=published)
        assert again.to_json() == published.to_json(), (
            "stale: run `metrics oncall generate --year 2026 --force`"
        )
        assert "kept the published plan (as good at every stage)" in again.log[0]["stages"]


def test_keep_is_refused_when_the_solver_finds_better(team, year: Schedule) -> None:
    s = year.slots  # swap two weeks' Backups: still valid, but continuity drops
    worse = dataclasses.replace(
        year,
        slots=[
            *s[:10],
            dataclasses.replace(s[10], backup=s[11].backup),
            dataclasses.replace(s[11], backup=s[10].backup),
            *s[12:],
        ],
    )
    again = generate(team, year=2026, keep=worse)
    assert not any("kept" in x for x in again.log[0]["stages"])
    assert again.slots == year.slots


def test_checker_catches_each_hard_rule_violation(team, year: Schedule) -> None:
    s = year.slots
    bad = dataclasses.replace(year, slots=[dataclasses.replace(s[0], backup=s[0].primary), *s[1:]])
    assert any(v.startswith("primary != backup") for v in check_hard_rules(bad, team))
    bad = dataclasses.replace(year, slots=[s[0], dataclasses.replace(s[1], primary=s[0].primary), *s[2:]])
    assert any(v.startswith("no back-to-back primary") for v in check_hard_rules(bad, team))
    am = team.person("AM").email  # AM is on PTO 2026-05-11..22 -> blocks W20..W21
    i = next(i for i, x in enumerate(s) if x.id == "2026-W20")
    bad = dataclasses.replace(year, slots=[*s[:i], dataclasses.replace(s[i], primary=am), *s[i + 1 :]])
    assert any(v.startswith("PTO: 2026-W20 primary is AM on PTO") for v in check_hard_rules(bad, team))
    gap = dataclasses.replace(s[5], start=s[5].start.replace(hour=10))
    bad = dataclasses.replace(year, slots=[*s[:5], gap, *s[6:]])
    assert any(v.startswith("coverage: gap") for v in check_hard_rules(bad, team))
    assert not any("consecutive" in v for v in check_hard_rules(year, team))  # a preference, not a rule


def test_rest_preference_is_reported_not_refused(team, year: Schedule) -> None:
    s = year.slots
    am, pr, cw, sk = (team.person(x).email for x in ("AM", "PR", "CW", "SK"))
    run = [
        dataclasses.replace(x, primary=p, backup=b)
        for x, (p, b) in zip(s[:3], [(am, pr), (pr, cw), (sk, pr)], strict=True)
    ]
    bad = dataclasses.replace(year, slots=[*run, *s[3:]])
    assert not any("consecutive" in v for v in check_hard_rules(bad, team))
    exceptions = rest_exceptions(bad, team)
    assert exceptions and exceptions[0].startswith("PR on duty 3 weeks in a row, 2026-W01..2026-W03")
    assert "rest preference (at most 2 duty weeks in a row, soft): 1 exception(s)" in fairness_text(bad, team)


def test_too_few_people_names_the_week_and_the_pto() -> None:
    team = make_team(
        3, pto={0: [(date(2026, 1, 20), date(2026, 1, 22))], 1: [(date(2026, 1, 21), date(2026, 1, 21))]}
    )
    with pytest.raises(RotationInfeasible, match="coverage") as err:
        generate(team)
    msg = str(err.value)
    assert "2026-W04" in msg and "P0 on PTO 2026-01-20..2026-01-22" in msg and "P1 on PTO" in msg
    assert err.value.constraint == "coverage"


def test_rest_rule_gives_way_instead_of_making_the_plan_infeasible() -> None:
    # 3 people, P0 away for three weeks: P1 and P2 must cover both roles three weeks running, over
    # the rest preference (2) -- planned anyway, with the fewest windows over it, and said so.
    team = make_team(3, pto={0: [(date(2026, 1, 13), date(2026, 1, 30))]})
    sched = generate(team)
    assert check_hard_rules(sched, team) == []
    exc = rest_exceptions(sched, team)
    assert exc and all("P0" not in e for e in exc)
    assert sched.log[0]["rest_exceptions"] == exc
    assert sched.log[0]["stages"][0].startswith("rest_exceptions=")
    relaxed = make_team(3, pto={0: [(date(2026, 1, 13), date(2026, 1, 30))]}, max_consecutive=None)
    assert check_hard_rules(generate(relaxed), relaxed) == []


def test_next_year_continues_from_the_previous_one(team, year: Schedule) -> None:
    nxt = generate(team, start=date(2027, 1, 4), weeks=6, previous=year)
    assert nxt.slots[0].start == year.slots[-1].end
    assert nxt.slots[0].primary != year.slots[-1].primary
