# ruff: noqa: E501  (the golden table reads best one scenario per line)
"""Golden escalation table: (pipeline, failure time, acks) -> the pages and their times.

Times are IST (2026). Roster (tests/fakes/oncall.py): weeks from Monday 09:00 --
02-23 CW/SK, 03-02 AM/PR (Holi 03-04: PR/AM), 03-09 SK/CW (PTO swap for PR), 03-16 PR/SK,
03-23 CW/AM. Owners (config/pipelines.yaml): profit_unit PR/CW (experiment), profit_agg AM/PR,
growth_agg CW/SK, growth_daily SK/AM (experiment), engagement_agg PR/AM.
Ladder (config/alerting.yaml): P t+0, B t+10, IC t+15, PL t+30; EM +2h, FL +6h (sev1 only).
Sev2 (experiment, business hours) notifies instead of paging. Each level fires at its own time;
one whose person already holds the incident re-pages them (reminder), a skipped IC fires nothing.
"H" is the handoff notice to the incoming Primary at a block start while the incident is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from metrics_assets.alerting.coverage import severity_for
from metrics_assets.alerting.escalation import first_page_time, plan_pages
from metrics_core.alerting_model import FailureKind, Incident, Status, dedup_key
from metrics_core.alerting_settings import load_alerting_settings, load_roles
from metrics_core.config import pipeline_config
from tests.fakes.oncall import PEOPLE, FakeCalendar, FakeLookup, ist

SHORT = {"P": "primary_oncall", "B": "backup_oncall", "IC": "incident_commander", "PL": "platform_lead",
         "owner": "primary_owner", "EM": "business:engineering_manager", "FL": "business:finance_lead",
         "H": "handoff"}
BY_EMAIL = {v: k for k, v in PEOPLE.items()}


@dataclass
class Case:
    id: str
    pipeline: str
    at: str  # failure time, IST
    expected: list[str]  # "MM-DD HH:MM[:SS] action level WHO"
    kind: FailureKind = FailureKind.RUN_FAILURE
    feeds_investor: bool = False
    ack: str | None = None
    resolve: str | None = None
    now: str | None = None  # default: failure + 7 h
    delegate: bool = False
    forbidden: list[str] = field(default_factory=list)  # people who must never be paged


CASES = [
    Case("sat_0200_investor_no_ack", "profit_agg", "2026-03-07 02:00",
         ["03-07 02:00 page P AM", "03-07 02:10 page B PR", "03-07 02:30 page PL PL",
          "03-07 04:00 notify EM EM", "03-07 08:00 notify FL FL"], now="2026-03-07 09:00"),
    Case("sat_0200_investor_ack_t12", "growth_agg", "2026-03-07 02:00",
         ["03-07 02:00 page P AM", "03-07 02:00 notify owner CW", "03-07 02:10 page B PR",
          "03-07 04:00 notify EM EM", "03-07 08:00 notify FL FL"], ack="2026-03-07 02:12", now="2026-03-07 09:00"),
    Case("weekday_investor_ack_t5", "engagement_agg", "2026-03-10 14:00",
         ["03-10 14:00 page P SK", "03-10 14:00 notify owner PR"], ack="2026-03-10 14:05",
         resolve="2026-03-10 15:00"),
    Case("ic_already_on_call_as_backup", "growth_agg", "2026-03-17 14:00",
         ["03-17 14:00 page P PR", "03-17 14:00 notify owner CW", "03-17 14:10 page B SK",
          "03-17 14:30 page PL PL"], resolve="2026-03-17 14:40"),
    Case("ic_already_on_call_as_primary", "profit_agg", "2026-03-17 14:00",
         ["03-17 14:00 page P PR", "03-17 14:00 notify owner AM", "03-17 14:10 page B SK",
          "03-17 14:30 page PL PL"], resolve="2026-03-17 15:00"),
    Case("full_ladder_new_ic", "profit_agg", "2026-03-24 14:00",
         ["03-24 14:00 page P CW", "03-24 14:00 notify owner AM", "03-24 14:10 page B AM",
          "03-24 14:15 page IC PR", "03-24 14:30 page PL PL"], resolve="2026-03-24 15:30"),
    Case("monday_0855_before_handoff", "profit_agg", "2026-03-09 08:55",
         ["03-09 08:55 page P AM", "03-09 09:00 notify H SK", "03-09 09:05 page B CW", "03-09 09:10 page IC PR", "03-09 09:25 page PL PL"],
         resolve="2026-03-09 10:00"),
    Case("monday_0900_exact_handoff", "growth_agg", "2026-03-09 09:00",
         ["03-09 09:00 page P SK", "03-09 09:00 notify owner CW", "03-09 09:10 page B CW",
         ], ack="2026-03-09 09:20", resolve="2026-03-09 10:00"),
    Case("monday_085959_old_block", "engagement_agg", "2026-03-09 08:59:59",
         ["03-09 08:59:59 page P AM", "03-09 08:59:59 notify owner PR", "03-09 09:00 notify H SK"],
         ack="2026-03-09 09:02",
         resolve="2026-03-09 09:30"),
    Case("handoff_mid_ladder_cascade", "growth_agg", "2026-03-16 08:52",
         ["03-16 08:52 page P SK", "03-16 08:52 notify owner CW", "03-16 09:00 notify H PR",
          "03-16 09:02 page B SK"], ack="2026-03-16 09:10", resolve="2026-03-16 10:00"),
    Case("handoff_backup_already_paged_gets_a_reminder", "profit_agg", "2026-03-16 08:55",
         ["03-16 08:55 page P SK", "03-16 08:55 notify owner AM", "03-16 09:00 notify H PR",
          "03-16 09:05 page B SK", "03-16 09:10 page IC PR",
          "03-16 09:25 page PL PL"], resolve="2026-03-16 10:00"),
    Case("holiday_override_investor", "profit_agg", "2026-03-04 11:00",
         ["03-04 11:00 page P PR", "03-04 11:00 notify owner AM", "03-04 11:10 page B AM",
          "03-04 11:30 page PL PL"], resolve="2026-03-04 12:00"),
    Case("holiday_experiment_deferred", "profit_unit", "2026-03-04 11:00",
         ["03-05 09:00 notify P AM", "03-05 09:00 notify owner PR"],
         now="2026-03-05 12:00"),
    Case("pto_swap_investor", "growth_agg", "2026-03-11 03:00",
         ["03-11 03:00 page P SK", "03-11 03:00 notify owner CW", "03-11 03:10 page B CW",
          ], ack="2026-03-11 03:20",
         resolve="2026-03-11 04:00", forbidden=["PR"]),
    Case("pto_swap_ack_t3", "profit_agg", "2026-03-11 03:00",
         ["03-11 03:00 page P SK", "03-11 03:00 notify owner AM"], ack="2026-03-11 03:03",
         resolve="2026-03-11 04:00", forbidden=["PR"]),
    Case("experiment_2200_deferred", "growth_daily", "2026-03-10 22:00",
         ["03-11 09:00 notify P SK"], resolve="2026-03-11 10:00", now="2026-03-11 12:00"),
    Case("experiment_2200_recovered_before_window", "growth_daily", "2026-03-10 22:00",
         [], resolve="2026-03-11 02:00", now="2026-03-11 12:00"),
    Case("experiment_2200_feeds_investor_paged", "profit_unit", "2026-03-10 22:00",
         ["03-10 22:00 page P SK", "03-10 22:00 notify owner PR", "03-10 22:10 page B CW",
          ], feeds_investor=True,
         ack="2026-03-10 22:20", resolve="2026-03-10 23:00"),
    Case("experiment_business_hours", "profit_unit", "2026-03-10 14:00",
         ["03-10 14:00 notify P SK", "03-10 14:00 notify owner PR"], resolve="2026-03-10 15:00"),
    Case("experiment_1855_em_deferred_to_morning", "growth_daily", "2026-03-17 18:55",
         ["03-17 18:55 notify P PR", "03-17 18:55 notify owner SK"],
         now="2026-03-18 10:00"),
    Case("experiment_friday_night_to_monday_handoff", "profit_unit", "2026-03-13 20:00",
         ["03-16 09:00 notify P PR"], now="2026-03-16 12:00"),
    Case("experiment_saturday_0200_deferred", "growth_daily", "2026-03-07 02:00",
         ["03-09 09:00 notify P SK"], resolve="2026-03-09 09:30", now="2026-03-09 12:00"),
    Case("experiment_eve_of_holiday", "growth_daily", "2026-03-03 20:00",
         ["03-05 09:00 notify P AM", "03-05 09:00 notify owner SK"], resolve="2026-03-05 10:00",
         now="2026-03-05 12:00"),
    Case("experiment_acked_before_window_fires_nothing", "growth_daily", "2026-03-10 22:00",
         [], ack="2026-03-10 23:00", now="2026-03-11 12:00"),
    Case("warn_check_investor_saturday_notifies_only", "profit_agg", "2026-03-07 02:00",
         ["03-07 02:00 notify owner AM"], kind=FailureKind.CHECK_WARN, now="2026-03-07 12:00"),
    Case("warn_check_experiment_night_notifies_only", "growth_daily", "2026-03-10 22:00",
         ["03-10 22:00 notify owner SK"], kind=FailureKind.CHECK_WARN),
    Case("error_check_investor_ack_exactly_t10", "engagement_agg", "2026-03-17 14:00",
         ["03-17 14:00 page P PR"], kind=FailureKind.CHECK_ERROR, ack="2026-03-17 14:10",
         resolve="2026-03-17 15:00"),
    Case("freshness_investor_acked_unresolved_6h", "engagement_agg", "2026-03-21 10:00",
         ["03-21 10:00 page P PR", "03-21 12:00 notify EM EM", "03-21 16:00 notify FL FL"],
         kind=FailureKind.FRESHNESS, ack="2026-03-21 10:05", now="2026-03-21 17:00"),
    Case("investor_resolved_at_3h_no_finance", "growth_agg", "2026-03-22 01:00",
         ["03-22 01:00 page P PR", "03-22 01:00 notify owner CW", "03-22 01:10 page B SK",
          "03-22 01:30 page PL PL", "03-22 03:00 notify EM EM"],
         resolve="2026-03-22 04:00"),
    Case("pagerduty_runs_the_ladder", "profit_agg", "2026-03-07 02:00",
         ["03-07 02:00 page P AM", "03-07 04:00 notify EM EM", "03-07 08:00 notify FL FL"],
         delegate=True, now="2026-03-07 09:00"),
    Case("ack_between_ic_and_platform_lead", "profit_agg", "2026-03-24 14:00",
         ["03-24 14:00 page P CW", "03-24 14:00 notify owner AM", "03-24 14:10 page B AM",
          "03-24 14:15 page IC PR"], ack="2026-03-24 14:20", resolve="2026-03-24 15:00"),
    Case("acked_incident_open_across_the_handoff", "engagement_agg", "2026-03-15 20:00",
         ["03-15 20:00 page P SK", "03-15 20:00 notify owner PR", "03-15 22:00 notify EM EM",
          "03-16 02:00 notify FL FL", "03-16 09:00 notify H PR"], ack="2026-03-15 20:05", now="2026-03-16 10:00"),
    Case("resolved_at_t8_before_backup", "growth_agg", "2026-03-24 14:00",
         ["03-24 14:00 page P CW"], resolve="2026-03-24 14:08"),
]


@pytest.fixture(scope="module")
def env():
    return load_alerting_settings(), load_roles(), FakeCalendar()


def _incident(case: Case, settings, calendar) -> Incident:
    p = pipeline_config().get(case.pipeline)
    sev = severity_for(case.kind, pipeline_is_investor=p.is_investor, feeds_investor=case.feeds_investor)
    at = ist(case.at)
    t0 = first_page_time(at, sev, settings, calendar)
    return Incident(
        id="inc-1", dedup_key=dedup_key(case.pipeline, case.kind, None), pipeline=case.pipeline,
        kind=case.kind, partition=None, severity=sev, status=Status.OPEN if t0 == at else Status.DEFERRED,
        opened_at=at, page_start=t0, primary_owner=p.owners.primary, secondary_owner=p.owners.secondary,
        resolved_at=ist(case.resolve) if case.resolve else None,
    )


def _render(page) -> str:
    local = page.at.astimezone(ist("2026-01-01 00:00").tzinfo)
    fmt = "%m-%d %H:%M:%S" if local.second else "%m-%d %H:%M"
    level = {v: k for k, v in SHORT.items()}[page.level.split(":")[0] if page.level.startswith("handoff") else page.level]
    return f"{local.strftime(fmt)} {page.action.value} {level} {BY_EMAIL[page.recipient]}"


def test_table_has_at_least_25_scenarios():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_golden_escalation(case: Case, env):
    settings, roles, calendar = env
    incident = _incident(case, settings, calendar)
    now = ist(case.now) if case.now else ist(case.at) + timedelta(hours=7)
    acks = [ist(case.ack)] if case.ack else []
    pages = plan_pages(incident, lookup=FakeLookup(), settings=settings, roles=roles, calendar=calendar,
                       now=now, acks=acks, delegate_escalation=case.delegate)
    assert [_render(p) for p in pages] == case.expected
    paged = {BY_EMAIL[p.recipient] for p in pages if p.action.value == "page"}
    assert not paged & set(case.forbidden)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plan_is_a_prefix_as_time_passes(case: Case, env):
    """Replaying the plan minute by minute never retracts or reorders a page (the sensor relies on it)."""
    settings, roles, calendar = env
    incident = _incident(case, settings, calendar)
    acks = [ist(case.ack)] if case.ack else []
    end = ist(case.now) if case.now else ist(case.at) + timedelta(hours=7)
    full = plan_pages(incident, lookup=FakeLookup(), settings=settings, roles=roles, calendar=calendar,
                      now=end, acks=acks, delegate_escalation=case.delegate)
    t = ist(case.at)
    while t <= end:
        partial = plan_pages(incident, lookup=FakeLookup(), settings=settings, roles=roles, calendar=calendar,
                             now=t, acks=acks, delegate_escalation=case.delegate)
        assert full[: len(partial)] == partial
        assert all(p.at <= t for p in partial)
        t += timedelta(minutes=7)
