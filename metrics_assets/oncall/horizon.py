"""A rotation that never runs out: the published schedules are extended ahead by whole ISO years.

Schedules are published per ISO year (config/oncall/schedule-<year>.json, the unit `oncall generate`
plans and people review). `extend_ahead` publishes the next year whenever less than
`rotation.keep_ahead_weeks` is left, carrying the previous year's history so fairness and rest
continue across the boundary; `horizon_status` is what the `oncall_schedule_horizon` check judges
against `rotation.warn_ahead_weeks`. Both take `now` as a parameter: the clock is the caller's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from metrics_assets.oncall.schedule import Schedule, schedule_dir
from metrics_core.team import TeamConfig

log = logging.getLogger(__name__)
_YEAR = re.compile(r"^schedule-(\d{4})\.json$")
# The rotation's own incidents and checks (schedule missing, horizon short) belong to no metric
# pipeline; routing and the engine know them by this id and send them to the platform lead.
PLATFORM_PIPELINE = "oncall_rotation"
RUNBOOK = "runbooks/oncall.md#a-schedule-that-never-runs-out"


@dataclass(frozen=True)
class Horizon:
    now: datetime
    end: datetime | None  # the end of the last published block (None: nothing published)
    warn_weeks: int

    @property
    def weeks_left(self) -> float:
        return 0.0 if self.end is None else max(0.0, (self.end - self.now) / timedelta(weeks=1))

    @property
    def short(self) -> bool:
        return self.weeks_left < self.warn_weeks

    def describe(self) -> str:
        if self.end is None:
            return "no on-call schedule is published"
        return (f"the published on-call schedule ends {self.end.isoformat()}: {self.weeks_left:.1f} weeks "
                f"ahead of {self.now.isoformat()} (warn below {self.warn_weeks})")


def published(directory: Path | None = None) -> dict[int, Path]:
    """ISO year -> its published schedule file."""
    d = directory or schedule_dir()
    return {int(m.group(1)): p for p in sorted(d.glob("schedule-*.json")) if (m := _YEAR.match(p.name))}


def horizon_status(team: TeamConfig, now: datetime, directory: Path | None = None) -> Horizon:
    files = published(directory)
    end = Schedule.load(files[max(files)]).end if files else None
    return Horizon(now=now, end=end, warn_weeks=team.rotation.warn_ahead_weeks)


def extend_ahead(team: TeamConfig, now: datetime, directory: Path | None = None) -> list[Path]:
    """Publish the following ISO years until `keep_ahead_weeks` are covered; the new files' paths.

    A year that already has a file is never re-planned here (that is `oncall replan`'s job)."""
    # deferred: the solver (OR-Tools) loads only when a year must actually be planned
    from metrics_assets.oncall.planner import generate

    d = directory or schedule_dir()
    keep = timedelta(weeks=team.rotation.keep_ahead_weeks)
    files = published(d)
    last = Schedule.load(files[max(files)]) if files else None
    year = max(files) if files else now.astimezone(team.tz).isocalendar().year - 1
    written: list[Path] = []
    while last is None or last.end - now < keep:
        year += 1
        sched = generate(team, year=year, previous=last)
        path = sched.save(d / f"schedule-{year}.json")
        log.info("published the on-call schedule of %d (%s) to keep %s ahead", year,
                 sched.meta.get("horizon", ""), keep)
        written.append(path)
        last = sched
    return written
