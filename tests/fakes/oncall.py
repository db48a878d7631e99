"""A hand-written on-call roster and IST work calendar for the golden escalation table.

The real rotation (metrics_assets.oncall) is generated; these fakes pin a few weeks of it,
including a holiday day-override and a PTO swap, so escalation tests do not depend on the
generator's choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metrics_core.alerting_model import OnCall

IST = ZoneInfo("Asia/Kolkata")
PEOPLE = {
    "AM": "alex.mehta@metrics.example.com",
    "PR": "priya.rao@metrics.example.com",
    "CW": "chen.wu@metrics.example.com",
    "SK": "samir.kapoor@metrics.example.com",
    "PL": "platform-lead@metrics.example.com",
    "EM": "eng-manager@metrics.example.com",
    "FL": "finance-lead@metrics.example.com",
}
# Weekly blocks start Monday 09:00 IST: (block start date, primary, backup, reason)
WEEKS = [
    (date(2026, 2, 23), "CW", "SK", None),
    (date(2026, 3, 2), "AM", "PR", None),
    (date(2026, 3, 9), "SK", "CW", "PTO swap: PR on leave, SK takes the block"),
    (date(2026, 3, 16), "PR", "SK", None),
    (date(2026, 3, 23), "CW", "AM", None),
]
# Critical holiday day-overrides (whole IST day): Backup acts as Primary and vice versa.
DAY_OVERRIDES = {date(2026, 3, 4): "holiday: Holi"}
HOLIDAYS = {date(2026, 3, 4), date(2026, 3, 26), date(2026, 3, 31)}


def ist(text: str) -> datetime:
    """'2026-03-07 02:00' or '2026-03-09 08:59:59' in IST."""
    return datetime.fromisoformat(text).replace(tzinfo=IST)


class FakeLookup:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    start = datetime.combine(WEEKS[0][0], time(9), IST)  # before it: history (no schedule-missing page)

    def who(self, at: datetime) -> OnCall:
        self.calls.append(at)
        local = at.astimezone(IST)
        for start_day, primary, backup, reason in reversed(WEEKS):  # noqa: B007 (used after break)
            start = datetime.combine(start_day, time(9), IST)
            if local >= start:
                break
        else:
            raise LookupError(f"{at} is before the fake roster")
        end = start + timedelta(days=7)
        if local >= end + timedelta(days=7):
            raise LookupError(f"{at} is after the fake roster")
        p, b = PEOPLE[primary], PEOPLE[backup]
        if local.date() in DAY_OVERRIDES:
            p, b, reason = b, p, DAY_OVERRIDES[local.date()]
        return OnCall(at=at, primary=p, backup=b, block_start=start, block_end=end, override_reason=reason)


@dataclass
class FakeCalendar:
    start: time = time(9)
    end: time = time(19)

    def _working_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in HOLIDAYS

    def is_working_time(self, at: datetime) -> bool:
        local = at.astimezone(IST)
        return self._working_day(local.date()) and self.start <= local.time() < self.end

    def next_working_start(self, at: datetime) -> datetime:
        local = at.astimezone(IST)
        d = local.date()
        if local.time() >= self.start:
            d += timedelta(days=1)
        while not self._working_day(d):
            d += timedelta(days=1)
        return datetime.combine(d, self.start, IST)
