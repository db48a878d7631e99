"""The escalation ladder as a pure function: (incident, on-call lookup, acks, now) -> pages.

Nothing here reads a clock, a database or a channel, so the golden table can pin the
semantics and the sensor only has to deliver what the plan says and it has not yet sent.

Semantics (spec/oncall.md "Escalation ladder", notes/oncall.md 5.3):
- Level times are offsets from t0 (`incident.page_start`); targets are resolved when the level
  fires (a handoff in the middle of the ladder pages the new person).
- A level that finds nobody new (already paged, or nobody) fires the next level at once.
  When the incident commander is already engaged they get the IC role and the next level fires.
- An acknowledgement stops the ladder (a level due at or after the ack never fires); resolution
  stops everything. Business escalation (managers) ignores acks, only resolution stops it.
- Business-hours severities move every due time into the coverage window.
- When PagerDuty runs the ladder (`delegate_escalation`), only t0 is sent from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from metrics_core.alerting_model import (
    Action,
    Incident,
    OnCallLookup,
    PlannedPage,
    WorkCalendar,
)
from metrics_core.alerting_settings import AlertingSettings, Roles, SeverityPolicy


def align(at: datetime, policy: SeverityPolicy, calendar: WorkCalendar) -> datetime:
    """The first instant at or after `at` inside the severity's coverage window."""
    if policy.coverage == "business_hours" and not calendar.is_working_time(at):
        return calendar.next_working_start(at)
    return at


def first_page_time(
    failed_at: datetime, severity: str, settings: AlertingSettings, calendar: WorkCalendar
) -> datetime:
    """t0 of a new incident: the failure time, or the next window start when deferred."""
    return align(failed_at, settings.severities[severity], calendar)


def _stop_time(incident: Incident, acks: Iterable[datetime]) -> datetime | None:
    times = [t for t in (*acks, incident.acked_at) if t is not None]
    if incident.resolved_at is not None:
        times.append(incident.resolved_at)
    return min(times) if times else None


def _targets(level: str, at: datetime, incident: Incident, lookup: OnCallLookup, roles: Roles) -> list[str]:
    if level == "primary_oncall":
        return [lookup.who(at).primary]
    if level == "backup_oncall":
        return [lookup.who(at).backup]
    if level == "incident_commander":
        return [incident.secondary_owner]
    if level == "platform_lead":
        return [roles.platform_lead]
    raise ValueError(f"unknown escalation level {level!r} (config/alerting.yaml severities.*.ladder)")


def plan_pages(
    incident: Incident,
    *,
    lookup: OnCallLookup,
    settings: AlertingSettings,
    roles: Roles,
    calendar: WorkCalendar,
    now: datetime,
    acks: Iterable[datetime] = (),
    delegate_escalation: bool = False,
) -> list[PlannedPage]:
    """Every page/notification due by `now` for this incident, in firing order."""
    policy = settings.severities[incident.severity]
    t0 = incident.page_start
    ack_stop = _stop_time(incident, acks)
    out: list[PlannedPage] = []
    engaged: list[str] = []

    if not policy.ladder and t0 <= now and (ack_stop is None or t0 < ack_stop):
        out.append(PlannedPage(t0, "primary_owner", incident.primary_owner, Action.NOTIFY, "notice"))

    forced: datetime | None = None  # set when a level found nobody new
    prev = t0
    for idx, step in enumerate(policy.ladder):
        if delegate_escalation and idx > 0:
            break
        due = forced if forced is not None else max(align(t0 + step.after, policy, calendar), prev)
        skipped_from = forced is not None
        forced = None
        if due > now or (ack_stop is not None and due >= ack_stop):
            break
        prev = due
        targets = _targets(step.level, due, incident, lookup, roles)
        new = [p for p in targets if p and p not in engaged]
        if step.level == "incident_commander" and targets and targets[0] in engaged:
            out.append(PlannedPage(due, step.level, targets[0], Action.ROLE, "IC, already paged"))
        if not new:
            forced = due
            continue
        engaged.append(new[0])
        reason = f"t+{int((due - t0).total_seconds() // 60)}m" + (" (skip-ahead)" if skipped_from else "")
        out.append(PlannedPage(due, step.level, new[0], Action.PAGE, reason))
        if idx == 0 and settings.inform_primary_owner and incident.primary_owner not in engaged:
            out.append(PlannedPage(due, "primary_owner", incident.primary_owner, Action.NOTIFY, "owner"))

    resolved = incident.resolved_at
    for b in policy.business:
        due = align(t0 + b.after, policy, calendar)
        if due <= now and (resolved is None or due < resolved):
            out.append(
                PlannedPage(due, f"business:{b.role}", roles.email(b.role), Action.NOTIFY, "unresolved")
            )
    return sorted(out, key=lambda p: p.at)
