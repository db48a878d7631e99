"""Coverage: how urgent a failure is, and the IST working-time calendar that gates sev2 pages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from metrics_assets.oncall import calendar as oncall_calendar
from metrics_core.alerting_model import FailureKind
from metrics_core.alerting_settings import AlertingSettings

URGENCY_ORDER = {"notice": 0, "sev2": 1, "sev1": 2}


def severity_for(kind: FailureKind, *, pipeline_is_investor: bool, feeds_investor: bool) -> str:
    """WARN checks only notify; anything touching investor numbers pages 24x7; the rest is sev2."""
    if kind is FailureKind.CHECK_WARN:
        return "notice"
    return "sev1" if pipeline_is_investor or feeds_investor else "sev2"


class ConfigCalendar:
    """Working time from the on-call calendar (the team's holidays) with the business-hours
    window of alerting.yaml."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.tz = ZoneInfo(settings.timezone)
        self.window = settings.coverage.business_hours

    def is_working_time(self, at: datetime) -> bool:
        return oncall_calendar.is_working_time(at, start=self.window.start, end=self.window.end)

    def next_working_start(self, at: datetime) -> datetime:
        opens = oncall_calendar.next_working_start(at).astimezone(self.tz)
        mine = datetime.combine(opens.date(), self.window.start_time, self.tz)  # alerting.yaml wins
        return mine if mine >= at else opens
