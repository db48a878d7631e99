"""Working time in the team's calendar: business days and hours from team.yaml, minus team holidays.

Experiment pipelines page only inside working time and queue to the next business morning outside
it; both answers come from here so the rule lives in one place and follows the company calendar.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from metrics_assets.oncall.holiday_calendar import company_holidays
from metrics_core.team import WEEKDAYS, TeamConfig, team_config


def _aware(at: datetime, fn: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{fn}(): {at!r} is naive; pass a timezone-aware datetime")


def is_working_day(d: date, team: TeamConfig | None = None) -> bool:
    team = team or team_config()
    return WEEKDAYS[d.weekday()] in team.business_hours.days and d not in company_holidays(team, [d.year])


def is_working_time(
    at: datetime, *, start: str | None = None, end: str | None = None, team: TeamConfig | None = None
) -> bool:
    """True inside business hours (team.yaml business_hours unless start/end given) on a working day."""
    _aware(at, "is_working_time")
    team = team or team_config()
    local = at.astimezone(team.tz)
    lo = time.fromisoformat(start or team.business_hours.start)
    hi = time.fromisoformat(end or team.business_hours.end)
    return is_working_day(local.date(), team) and lo <= local.time().replace(tzinfo=None) < hi


def next_working_start(at: datetime, *, team: TeamConfig | None = None) -> datetime:
    """The first business-hours start at or after `at` (e.g. the next business morning 09:00 IST)."""
    _aware(at, "next_working_start")
    team = team or team_config()
    local = at.astimezone(team.tz)
    begin = time.fromisoformat(team.business_hours.start)
    for k in range(0, 400):
        d = local.date() + timedelta(days=k)
        cand = datetime.combine(d, begin, team.tz)
        if cand >= local and is_working_day(d, team):
            return cand
    raise ValueError(f"next_working_start(): no working day within 400 days of {at.isoformat()}")
