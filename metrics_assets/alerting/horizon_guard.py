"""When the rotation has run out: someone is still paged, and an incident says the schedule is missing.

Before, an instant outside the published schedule raised inside the sensor and nobody was paged.
`HorizonGuard` wraps the on-call lookup: outside the schedule it answers the platform lead for both
roles (the ladder still reaches a person) and remembers the instant; the engine then opens one
`schedule_missing` incident paging the platform lead, resolved once a schedule covers the time again.
That incident belongs to no metric pipeline: `PLATFORM` stands in for one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from metrics_assets.oncall.horizon import PLATFORM_PIPELINE, RUNBOOK
from metrics_core.alerting_model import OnCall, OnCallLookup

__all__ = ["PLATFORM_PIPELINE", "RUNBOOK", "HorizonGuard", "PlatformPipeline", "platform_pipeline"]


@dataclass(frozen=True)
class _Owners:
    primary: str
    secondary: str


@dataclass(frozen=True)
class PlatformPipeline:
    """What the engine reads of a pipeline, for the incidents of the on-call rotation itself."""

    owners: _Owners
    id: str = PLATFORM_PIPELINE
    name: str = "On-call rotation"
    runbook: str = RUNBOOK
    is_investor: bool = False


def platform_pipeline(platform_lead: str) -> PlatformPipeline:
    return PlatformPipeline(owners=_Owners(platform_lead, platform_lead))


@dataclass
class HorizonGuard:
    inner: OnCallLookup
    fallback: str  # the platform lead's e-mail
    missing: list[tuple[datetime, str]] = field(default_factory=list)

    def who(self, at: datetime) -> OnCall:
        try:
            return self.inner.who(at)
        except (ValueError, LookupError) as exc:  # outside (or in a gap of) the published schedules
            if at.tzinfo is None:
                raise
            start = getattr(self.inner, "start", None)
            if start is not None and at < start:  # before the first schedule: history, not a gap to fill
                raise LookupError(str(exc)) from None
            self.missing.append((at, str(exc)))
            return OnCall(at=at, primary=self.fallback, backup=self.fallback,
                          override_reason=f"schedule missing: {exc}")

    def covers(self, at: datetime) -> bool:
        try:
            self.inner.who(at)
        except (ValueError, LookupError):
            return False
        return True
