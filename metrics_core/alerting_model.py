"""Value types shared by routing, escalation, the incident store and the channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class FailureKind(StrEnum):
    RUN_FAILURE = "run_failure"
    CHECK_ERROR = "check_error"
    CHECK_WARN = "check_warn"
    FRESHNESS = "freshness"
    SLA_AT_RISK = "sla_at_risk"  # a daily investor table not published shortly before its deadline
    SCHEDULE_MISSING = "schedule_missing"  # someone was to be paged at an instant no rotation covers


class Status(StrEnum):
    DEFERRED = "deferred"  # outside its coverage window; pages start at page_start
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"


class Action(StrEnum):
    PAGE = "page"  # wakes someone up (ladder level)
    NOTIFY = "notify"  # information: primary owner, business escalation, notices
    ROLE = "role"  # role assignment for someone already engaged (IC already on call)


@dataclass(frozen=True)
class OnCall:
    """Who holds Primary and Backup at one instant (mirrors metrics_assets.oncall.lookup.OnCall)."""

    at: datetime
    primary: str
    backup: str
    block_start: datetime | None = None
    block_end: datetime | None = None
    override_reason: str | None = None


class OnCallLookup(Protocol):
    def who(self, at: datetime) -> OnCall: ...


class WorkCalendar(Protocol):
    """IST working days with team holidays; the window comes from config/alerting.yaml."""

    def is_working_time(self, at: datetime) -> bool: ...

    def next_working_start(self, at: datetime) -> datetime: ...


@dataclass(frozen=True)
class Failure:
    """One failure signal from a sensor, already mapped to a pipeline."""

    pipeline: str
    kind: FailureKind
    subject: str  # the asset key or check key that failed ("raw/orders", "fct_x:check_name")
    at: datetime
    partition: str | None = None
    feeds_investor: bool = False
    detail: str = ""
    run_id: str | None = None
    # the launch it came from (a backfill id or a root run id): one incident per pipeline, kind
    # and launch, listing its days; None keys the incident by partition (freshness, SLA at risk)
    launch: str | None = None

    @property
    def dedup_key(self) -> str:
        if self.launch:
            return dedup_key(self.pipeline, self.kind, f"launch:{self.launch}")
        return dedup_key(self.pipeline, self.kind, self.partition)


@dataclass(frozen=True)
class Recovery:
    """A subject that is healthy again (check passed, asset materialized, freshness PASS)."""

    pipeline: str
    kind: FailureKind
    subject: str
    at: datetime
    partition: str | None = None


def dedup_key(pipeline: str, kind: FailureKind | str, partition: str | None) -> str:
    return f"{pipeline}|{kind}|{partition or '-'}"


def describe_days(days: list[str]) -> str | None:
    """Sorted days as compact ranges: 2026-03-01..2026-03-03,2026-03-05 (None when empty).
    A partition that is not an ISO day (a range tag, a month) is listed as it is."""
    parsed, other = set(), set()
    for d in days:
        try:
            parsed.add(date.fromisoformat(d))
        except ValueError:
            other.add(d)
    runs: list[list[date]] = []
    for d in sorted(parsed):
        if runs and d - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = d
        else:
            runs.append([d, d])
    out = [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs]
    return ",".join(out + sorted(other)) or None


@dataclass
class Incident:
    id: str
    dedup_key: str
    pipeline: str
    kind: FailureKind
    partition: str | None
    severity: str  # sev1 | sev2 | notice
    status: Status
    opened_at: datetime
    page_start: datetime  # t0 of the ladder (later than opened_at when deferred)
    primary_owner: str
    secondary_owner: str
    subjects: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    summary: str = ""
    occurrences: int = 1
    last_seen_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    # what is failing, (subject, day): one incident of a launch lists every day it failed
    items: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def days(self) -> list[str]:
        return sorted({d for _, d in self.items if d})

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED


@dataclass(frozen=True)
class PlannedPage:
    """One delivery the escalation plan calls for."""

    at: datetime
    level: str  # ladder level, "primary_owner", or "business:<role>"
    recipient: str
    action: Action
    reason: str = ""
    channel: str | None = None  # a team owner's Slack channel (Message.channel); None: the pipeline's

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.level, self.recipient, self.action.value)
