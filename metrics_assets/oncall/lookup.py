"""Who is on call at time T: the one lookup alerting, escalation, the CLI and the UI all use.

It reads the published schedules (config/oncall/schedule-*.json), which already contain re-plans
(PTO swaps), and applies the holiday day overrides, so callers never re-implement either.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from metrics_assets.oncall.schedule import DayOverride, Schedule, Slot, schedule_dir, schedule_path
from metrics_core.config import ConfigError


@dataclass(frozen=True)
class OnCall:
    at: datetime  # tz-aware
    primary: str  # e-mail of who acts as Primary at `at` (after holiday day-overrides and swaps)
    backup: str  # e-mail of who acts as Backup at `at`
    block_start: datetime
    block_end: datetime
    override_reason: str | None  # e.g. "Holi: backup acts as primary"


class OnCallLookup:
    """A pure, in-memory resolver over one or more adjacent published schedules."""

    def __init__(self, schedules: Schedule | list[Schedule]):
        scheds = [schedules] if isinstance(schedules, Schedule) else list(schedules)
        if not scheds:
            raise ConfigError("no on-call schedule published; run `metrics oncall generate`")
        self.slots: list[Slot] = sorted((s for sc in scheds for s in sc.slots), key=lambda s: s.start)
        self.overrides: dict[str, list[DayOverride]] = {}
        for sc in scheds:
            for o in sc.overrides:
                self.overrides.setdefault(o.block, []).append(o)
        for a, b in zip(self.slots, self.slots[1:], strict=False):
            if a.end > b.start:
                raise ConfigError(
                    f"on-call schedules overlap: {a.id} ends {a.end} after {b.id} starts {b.start}"
                )
        self._starts = [s.start for s in self.slots]

    @property
    def start(self) -> datetime:
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        return self.slots[-1].end

    def who(self, at: datetime) -> OnCall:
        """Raises ValueError for a naive datetime or a time outside every published schedule."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"who(): {at!r} is naive; pass a timezone-aware datetime")
        i = bisect.bisect_right(self._starts, at) - 1
        if i < 0 or at >= self.slots[i].end:
            raise ValueError(
                f"who(): {at.isoformat()} is outside the published on-call schedules "
                f"({self.start.isoformat()} .. {self.end.isoformat()}) or in a gap between them"
            )
        s = self.slots[i]
        for o in self.overrides.get(s.id, ()):
            if o.start <= at < o.end:
                return OnCall(at, o.primary, o.backup, s.start, s.end, o.reason)
        return OnCall(at, s.primary, s.backup, s.start, s.end, None)

    @classmethod
    def from_config(cls, year_or_path: int | str | Path | None = None) -> OnCallLookup:
        """None: every config/oncall/schedule-*.json; an int: that year's file; else a path to a file."""
        if year_or_path is None:
            paths = sorted(schedule_dir().glob("schedule-*.json"))
            if not paths:
                raise ConfigError(f"no on-call schedule in {schedule_dir()}; run `metrics oncall generate`")
            return cls([Schedule.load(p) for p in paths])
        if isinstance(year_or_path, int):
            return cls(Schedule.load(schedule_path(year_or_path)))
        return cls(Schedule.load(Path(year_or_path)))
