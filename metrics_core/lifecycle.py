"""The incident lifecycle after the page: RCAs, silences and the Monday handoff (issue 12 item 5).

Pure rules and their config; the store is resources/lifecycle_store.py and the engine applies them
(metrics_assets/alerting/lifecycle.py). From shared/seeds/003: "RCAs due within 5 business days for
investor-facing pipeline Sev-1/Sev-2 incidents"; a Monday handoff that reviews "open incidents,
suppressions, and pending RCAs".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RcaPolicy(_Strict):
    """Which resolved incidents owe an RCA, by when, and who hears when it is late."""

    business_days: int = Field(default=5, ge=1, le=30)
    audiences: tuple[Literal["investor", "experiment"], ...] = ("investor",)
    severities: tuple[Literal["sev1", "sev2", "notice"], ...] = ("sev1", "sev2")
    # an overdue RCA is notified once to the incident's primary owner and to these roles
    overdue_roles: tuple[Literal["platform_lead", "engineering_manager", "finance_lead"], ...] = (
        "engineering_manager",
    )


class LifecycleSettings(_Strict):
    rca: RcaPolicy = RcaPolicy()
    # the Monday handoff report is posted here at each block start (and to the incoming Primary)
    handoff_channel: str | None = Field(default="#metrics-oncall", pattern=r"^#[a-z0-9_-]+$")
    max_silence_days: int = Field(default=14, ge=1, le=90)  # a silence longer than this is refused
    # a block start older than this when the engine first sees it is history: no report is posted
    handoff_late_after_hours: float = Field(default=24, gt=0, le=168)


class Calendar(Protocol):
    def next_working_start(self, at: datetime) -> datetime: ...


def rca_due(resolved_at: datetime, business_days: int, calendar: Calendar) -> datetime:
    """The start of the business morning after `business_days` full business days following the
    resolution (team calendar: weekends and company holidays do not count)."""
    t = resolved_at
    for _ in range(business_days + 1):
        t = calendar.next_working_start(t + timedelta(minutes=1))
    return t


@dataclass(frozen=True)
class Silence:
    """A silence (a suppression): failures of a pipeline (or of one of its checks) open no incident
    and page no one until `until`; each suppressed failure is recorded against it."""

    id: str
    pipeline: str
    check: str | None
    starts_at: datetime
    until: datetime
    reason: str
    created_by: str
    cancelled_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.until and (self.cancelled_at is None or at < self.cancelled_at)

    def matches(self, pipeline: str, subject: str, at: datetime) -> bool:
        """`subject` is an asset key or a check key `asset:check`; a check silence matches that
        check's name on any asset."""
        if pipeline != self.pipeline or not self.active(at):
            return False
        return self.check is None or subject.rsplit(":", 1)[-1] == self.check
