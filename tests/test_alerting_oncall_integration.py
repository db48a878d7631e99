"""Escalation against the real published rotation (config/oncall) and the team work calendar.

The golden table pins semantics on a hand-written roster; this file checks the same rules hold
with the generated schedule, whatever names it contains.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics_assets.alerting.coverage import ConfigCalendar, severity_for
from metrics_assets.alerting.escalation import first_page_time, plan_pages
from metrics_assets.alerting.runtime import RoleFallbackLookup, default_lookup
from metrics_core.alerting_model import Action, FailureKind, Incident, Status, dedup_key
from metrics_core.alerting_settings import load_alerting_settings, load_roles
from metrics_core.config import pipeline_config
from tests.fakes.oncall import ist

settings, roles = load_alerting_settings(), load_roles()
lookup = default_lookup(roles, settings)
calendar = ConfigCalendar()


def _incident(pipeline: str, at, feeds_investor=False) -> Incident:
    p = pipeline_config().get(pipeline)
    kind = FailureKind.RUN_FAILURE
    sev = severity_for(kind, pipeline_is_investor=p.is_investor, feeds_investor=feeds_investor)
    t0 = first_page_time(at, sev, settings, calendar)
    status = Status.OPEN if t0 == at else Status.DEFERRED
    return Incident("INC-1", dedup_key(pipeline, kind, None), pipeline, kind, None, sev, status, at, t0,
                    p.owners.primary, p.owners.secondary)


def test_the_real_rotation_is_used():
    assert not isinstance(lookup, RoleFallbackLookup), getattr(lookup, "why", "")


@pytest.mark.parametrize("pipeline", ["profit_agg", "growth_agg", "engagement_agg"])
@pytest.mark.parametrize("when", ["2026-03-07 02:00", "2026-03-09 08:55", "2026-03-09 09:00",
                                  "2026-03-04 11:00", "2026-08-15 03:00", "2026-11-08 20:00"])
def test_investor_ladder_follows_the_rotation(pipeline, when):
    at = ist(when)
    inc = _incident(pipeline, at)
    pages = plan_pages(inc, lookup=lookup, settings=settings, roles=roles, calendar=calendar,
                       now=at + timedelta(hours=1))
    paged = [p for p in pages if p.action is Action.PAGE]
    assert paged[0].at == at and paged[0].recipient == lookup.who(at).primary
    by_level = {p.level: p for p in paged}
    # every level fires at its configured time, never earlier (a held person gets a reminder)
    assert by_level["backup_oncall"].at == at + timedelta(minutes=10)
    assert by_level["backup_oncall"].recipient == lookup.who(at + timedelta(minutes=10)).backup
    assert by_level["platform_lead"].at == at + timedelta(minutes=30)
    assert by_level["platform_lead"].recipient == roles.platform_lead
    owner = pipeline_config().get(pipeline).owners.secondary
    held = {p.recipient for p in paged if p.at < at + timedelta(minutes=15)}
    if owner in held:  # the incident commander "is skipped if already paged": nothing fires
        assert "incident_commander" not in by_level
    else:
        assert by_level["incident_commander"].recipient == owner
        assert by_level["incident_commander"].at == at + timedelta(minutes=15)


def test_holiday_override_pages_the_acting_primary():
    at = ist("2026-03-04 11:00")  # Holi: a critical holiday, backup acts as primary
    who = lookup.who(at)
    assert who.override_reason
    pages = plan_pages(_incident("profit_agg", at), lookup=lookup, settings=settings, roles=roles,
                       calendar=calendar, now=at)
    assert pages[0].recipient == who.primary


def test_experiment_failure_on_a_holiday_waits_for_the_next_working_morning():
    at = ist("2026-03-04 11:00")  # Holi (Wednesday) is not a working day
    inc = _incident("growth_daily", at)
    assert inc.status is Status.DEFERRED and inc.page_start == ist("2026-03-05 09:00")
    pages = plan_pages(inc, lookup=lookup, settings=settings, roles=roles, calendar=calendar,
                       now=ist("2026-03-05 09:00"))
    assert pages[0].at == ist("2026-03-05 09:00")
    assert pages[0].recipient == lookup.who(ist("2026-03-05 09:00")).primary


def test_experiment_failure_friday_night_waits_for_monday_handoff():
    inc = _incident("profit_unit", ist("2026-03-13 22:00"))
    assert inc.page_start == ist("2026-03-16 09:00")
    assert _incident("profit_unit", ist("2026-03-13 22:00"), feeds_investor=True).page_start == ist(
        "2026-03-13 22:00")


def test_alert_working_time_is_the_team_calendar():
    """Business hours live in team.yaml only: a team whose day ends at 20:00 pages sev2 at 19:30,
    the shipped team (09:00-19:00 IST) defers it to the next business morning."""
    from metrics_core.team import team_config

    team = team_config()
    late = team.model_copy(update={"business_hours": team.business_hours.model_copy(update={"end": "20:00"})})
    at = ist("2026-03-10 19:30")  # a Tuesday
    assert not ConfigCalendar().is_working_time(at)
    assert ConfigCalendar().next_working_start(at) == ist("2026-03-11 09:00")
    assert ConfigCalendar(team=late).is_working_time(at)
