"""Coverage: how urgent a failure is, and the IST working-time calendar that gates sev2 pages."""

from __future__ import annotations

from datetime import datetime

from metrics_assets.oncall import calendar as oncall_calendar
from metrics_core.alerting_model import FailureKind
from metrics_core.team import TeamConfig

URGENCY_ORDER = {"notice": 0, "sev2": 1, "sev1": 2}


def severity_for(kind: FailureKind, *, pipeline_is_investor: bool, feeds_investor: bool) -> str:
    """WARN checks and SLAs at risk only notify; anything touching investor numbers pages 24x7;
    the rest is sev2."""
    if kind in (FailureKind.CHECK_WARN, FailureKind.SLA_AT_RISK):  # at risk: owners act before a miss
        return "notice"
    if kind is FailureKind.SCHEDULE_MISSING:  # nobody is on call for anything: page around the clock
        return "sev1"
    return "sev1" if pipeline_is_investor or feeds_investor else "sev2"


class ConfigCalendar:
    """Working time of the team (config/team.yaml business days, hours, time zone and holidays):
    the one calendar that gates sev2 pages, the rotation and the handoffs alike."""

    def __init__(self, team: TeamConfig | None = None) -> None:
        self.team = team

    def is_working_time(self, at: datetime) -> bool:
        return oncall_calendar.is_working_time(at, team=self.team)

    def next_working_start(self, at: datetime) -> datetime:
        return oncall_calendar.next_working_start(at, team=self.team)
