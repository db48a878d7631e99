"""The escalation ladder as a pure function: (incident, on-call lookup, acks, now) -> pages.

Nothing here reads a clock, a database or a channel, so the golden table can pin the
semantics and the sensor only has to deliver what the plan says and it has not yet sent.

Semantics (spec/oncall.md "Escalation ladder", issue 12 item 1; the runbook's on-call section):
- Level times are offsets from t0 (`incident.page_start`); each level fires at its configured
  time and never earlier. Targets are resolved when the level fires (a handoff in the middle of
  the ladder pages the new person).
- A level whose person already holds the incident (e.g. the new Backup at a Monday handoff is
  the Primary paged at t0) re-pages them as a reminder; it does not pull the next level forward.
- The incident commander "is skipped if already paged": then that level fires nothing, and the
  platform lead still waits for their own time. A level that finds nobody fires nothing.
- An acknowledgement stops the ladder: a level due at or after the ack never fires.
  Business escalation (managers, sev1 only) follows the spec's "unresolved after": acks do not
  stop it, resolution does.
- A severity with `pages: false` (sev2) notifies at its levels instead of paging.
- Business-hours severities move every due time into the coverage window.
- At every block start while the incident is open, the incoming Primary is told of it
  (unless they already hold it).
- When PagerDuty runs the ladder (`delegate_escalation`), only t0 is sent from here.
- An owner that is a team (`team:<id>`, the primary owner informed, or the secondary owner as
  incident commander) is reached through its escalation contact, posted in the team's Slack
  channel (`PlannedPage.channel`; `Roles.owner`, metrics_core/owners.py); a person as themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

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
        return [roles.owner(incident.secondary_owner)[0]]
    if level == "platform_lead":
        return [roles.platform_lead]
    raise ValueError(f"unknown escalation level {level!r} (config/alerting.yaml severities.*.ladder)")


def _handoffs(
    incident: Incident, lookup: OnCallLookup, now: datetime, holders: dict[str, datetime]
) -> list[PlannedPage]:
    """The incoming Primary of every block that started after t0 while the incident was open,
    unless the ladder reached them before that start (`holders`: person -> first page)."""
    resolved = incident.resolved_at
    at = now if resolved is None else min(now, resolved - timedelta(microseconds=1))
    out: list[PlannedPage] = []
    while True:
        try:
            start = lookup.who(at).block_start
        except LookupError:  # before the published schedule: nothing to hand over
            break
        if start is None or start <= incident.page_start:
            break
        incoming = lookup.who(start).primary
        if incoming and not (incoming in holders and holders[incoming] <= start):
            out.append(PlannedPage(start, f"handoff:{start:%Y-%m-%d}", incoming, Action.NOTIFY,
                                   "handoff: open across the block start"))
        at = start - timedelta(seconds=1)
    return out


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
    act = Action.PAGE if policy.pages else Action.NOTIFY
    out: list[PlannedPage] = []
    engaged: dict[str, datetime] = {}  # person -> when the ladder first reached them

    owner, owner_channel = roles.owner(incident.primary_owner)
    ic_channel = roles.owner(incident.secondary_owner)[1]
    if not policy.ladder and t0 <= now and (ack_stop is None or t0 < ack_stop):
        out.append(PlannedPage(t0, "primary_owner", owner, Action.NOTIFY, "notice", channel=owner_channel))

    for idx, step in enumerate(policy.ladder):
        if delegate_escalation and idx > 0:
            break
        due = align(t0 + step.after, policy, calendar)
        if due > now or (ack_stop is not None and due >= ack_stop):
            break
        target = _targets(step.level, due, incident, lookup, roles)[0]
        if not target:
            continue
        reason = f"t+{int((due - t0).total_seconds() // 60)}m"
        if target in engaged:
            if step.level == "incident_commander":
                continue  # "skipped if already paged"
            out.append(PlannedPage(due, step.level, target, act, f"{reason} (reminder: unacked)"))
            continue
        engaged[target] = due
        channel = ic_channel if step.level == "incident_commander" else None
        out.append(PlannedPage(due, step.level, target, act, reason, channel=channel))
        if idx == 0 and settings.inform_primary_owner and owner not in engaged:
            out.append(PlannedPage(due, "primary_owner", owner, Action.NOTIFY, "owner",
                                   channel=owner_channel))
    if not delegate_escalation and t0 <= now:
        out += _handoffs(incident, lookup, now, engaged)

    resolved = incident.resolved_at
    for b in policy.business:
        due = align(t0 + b.after, policy, calendar)
        if due <= now and (resolved is None or due < resolved):
            out.append(
                PlannedPage(due, f"business:{b.role}", roles.email(b.role), Action.NOTIFY, "unresolved")
            )
    return sorted(out, key=lambda p: p.at)
