"""Coverage: how urgent a failure is, and the IST working-time calendar that gates sev2 pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from metrics_core.alerting_model import FailureKind
from metrics_core.alerting_settings import AlertingSettings

URGENCY_ORDER = {"notice": 0, "sev2": 1, "sev1": 2}


def severity_for(kind: FailureKind, *, pipeline_is_investor: bool, feeds_investor: bool) -> str:
    """WARN checks only notify; anything touching investor numbers pages 24x7; the rest is sev2."""
    if kind is FailureKind.CHECK_WARN:
        return "notice"
    return "sev1" if pipeline_is_investor or feeds_investor else "sev2"


class ConfigCalendar:
    """Working time from the on-call calendar (team holidays) with the window from alerting.yaml.

    Uses metrics_assets.oncall.calendar when that module exists; otherwise the national
    holiday list of python-holidays for the team's country, Monday to Friday.
    """

    def __init__(self, settings: AlertingSettings, country: str = "IN") -> None:
        self.tz = ZoneInfo(settings.timezone)
        self.window = settings.coverage.business_hours
        self._country = country
        self._holidays: holidays.HolidayBase | None = None
        try:
            from metrics_assets.oncall import calendar as oncall_calendar  # type: ignore[attr-defined]
        except ImportError:
            oncall_calendar = None
        self._impl = oncall_calendar

    def _is_holiday(self, d: date) -> bool:
        if self._holidays is None:
            self._holidays = holidays.country_holidays(self._country)
        return d in self._holidays

    def is_working_time(self, at: datetime) -> bool:
        if self._impl is not None:
            return self._impl.is_working_time(at, start=self.window.start, end=self.window.end)
        local = at.astimezone(self.tz)
        return (
            local.weekday() < 5
            and not self._is_holiday(local.date())
            and self.window.start_time <= local.time() < self.window.end_time
        )

    def next_working_start(self, at: datetime) -> datetime:
        if self._impl is not None:
            opens = self._impl.next_working_start(at).astimezone(self.tz)
            mine = datetime.combine(opens.date(), self.window.start_time, self.tz)  # alerting.yaml wins
            return mine if mine >= at else opens
        local = at.astimezone(self.tz)
        d = local.date() + timedelta(days=1 if local.time() >= self.window.start_time else 0)
        while d.weekday() >= 5 or self._is_holiday(d):
            d += timedelta(days=1)
        return datetime.combine(d, time.fromisoformat(self.window.start), self.tz)
