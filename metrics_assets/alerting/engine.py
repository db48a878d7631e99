"""The alert engine: failures -> incidents -> due pages -> channels, all stored in ops.*.

Sensors feed it failures and recoveries; the escalation sensor calls `advance()`. It reads
time only from its injected clock, and delivers exactly the pages that the pure planner
says are due and the store says were not yet delivered, so ticks are idempotent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from metrics_assets.alerting.clock import Clock
from metrics_assets.alerting.coverage import URGENCY_ORDER, severity_for
from metrics_assets.alerting.escalation import first_page_time, plan_pages
from metrics_assets.alerting.horizon_guard import (
    PLATFORM_PIPELINE,
    HorizonGuard,
    PlatformPipeline,
    platform_pipeline,
)
from metrics_assets.alerting.lifecycle import Lifecycle
from metrics_core.alerting_model import (
    Action,
    Failure,
    FailureKind,
    Incident,
    OnCallLookup,
    PlannedPage,
    Recovery,
    Status,
    WorkCalendar,
    describe_days,
)
from metrics_core.alerting_settings import AlertingSettings, Roles
from metrics_core.config import Pipeline, PipelineConfig
from resources.channels import Dispatcher, Message

log = logging.getLogger(__name__)
RecoveredProbe = Callable[[Incident], bool]


@dataclass
class TickReport:
    opened: list[str] = field(default_factory=list)
    attached: int = 0
    resolved: list[str] = field(default_factory=list)
    delivered: list[tuple[str, str, str, str]] = field(default_factory=list)  # (incident, action, level, to)

    def merge(self, other: TickReport) -> TickReport:
        self.opened += other.opened
        self.attached += other.attached
        self.resolved += other.resolved
        self.delivered += other.delivered
        return self


class AlertEngine:
    def __init__(
        self,
        store,
        dispatcher: Dispatcher,
        *,
        lookup: OnCallLookup,
        calendar: WorkCalendar,
        settings: AlertingSettings,
        roles: Roles,
        pipelines: PipelineConfig,
        clock: Clock,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        # outside the published rotation the lead is paged and a schedule-missing incident opens
        guarded = isinstance(lookup, HorizonGuard)
        self.lookup = lookup if guarded else HorizonGuard(lookup, roles.platform_lead)
        self._in_gap = False
        self.calendar = calendar
        self.settings = settings
        self.roles = roles
        self.pipelines = pipelines
        self.clock = clock
        self.lifecycle = Lifecycle(self)  # silences, RCAs, the handoff report

    def _pipeline(self, pipeline_id: str) -> Pipeline | PlatformPipeline:
        if pipeline_id == PLATFORM_PIPELINE:
            return platform_pipeline(self.roles.platform_lead)
        return self.pipelines.get(pipeline_id)

    # -- the rotation ran out ------------------------------------------------------------------
    def _schedule_gap(self) -> TickReport:
        """One schedule-missing incident (paging the platform lead) for the instants the lookup could
        not answer since the last call; resolved by `advance` once the schedule covers now again."""
        rep = TickReport()
        if self._in_gap or not self.lookup.missing:
            return rep
        at, why = self.lookup.missing[0]
        self._in_gap = True
        try:
            key = Failure(PLATFORM_PIPELINE, FailureKind.SCHEDULE_MISSING, "oncall/schedule", at).dedup_key
            if self.store.open_by_key(key) is None:
                lead = self.roles.platform_lead
                log.error("on-call schedule missing at %s: paging %s", at.isoformat(), lead)
                rep.merge(self.report([Failure(
                    PLATFORM_PIPELINE, FailureKind.SCHEDULE_MISSING, "oncall/schedule", self.clock.now(),
                    detail=f"{why}; publish the next year: metrics oncall generate --year <Y> "
                           "(or run the oncall_keep_ahead job)",
                )]))
        finally:
            self.lookup.missing.clear()
            self._in_gap = False
        return rep

    def _schedule_back(self) -> TickReport:
        rep = TickReport()
        now = self.clock.now()
        if not self.lookup.covers(now):
            return rep
        for inc in self.store.open_incidents():
            if inc.kind is FailureKind.SCHEDULE_MISSING:
                self._resolve(inc, now, "system", "an on-call schedule covers now again")
                rep.resolved.append(inc.id)
        return rep

    # -- intake ------------------------------------------------------------------------------
    def report(self, failures: Iterable[Failure]) -> TickReport:
        """Open or attach one incident per (pipeline, kind, launch) -- or per partition for
        failures without a launch (freshness, SLA at risk); then deliver what is due. A failure an
        active silence covers is recorded against the silence instead."""
        failures = self.lifecycle.unsilenced(failures)
        groups: dict[str, list[Failure]] = defaultdict(list)
        for f in failures:
            groups[f.dedup_key].append(f)
        rep = TickReport()
        touched: list[Incident] = []
        with self.store.transaction():
            for key, fs in groups.items():
                fs.sort(key=lambda f: f.at)
                inc = self.store.open_by_key(key) or self._covering(fs[0])
                if inc is None:
                    inc = self._open(fs[0])
                    rep.opened.append(inc.id)
                    rest = fs[1:]
                else:
                    rest = fs
                for f in rest:
                    rep.attached += self._attach(inc, f)
                self._describe(inc)
                self.store.update(inc)
                if inc not in touched:
                    touched.append(inc)
        for inc in touched:
            if inc.id in rep.opened:
                self._post_status(inc, "investigating", f"opened {inc.opened_at:%Y-%m-%d %H:%M} UTC")
            rep.delivered += self._deliver_due(inc)
        return rep.merge(self._schedule_gap())

    def _covering(self, f: Failure) -> Incident | None:
        """An open incident of the same pipeline and kind that already lists this subject and day
        (another launch failing on what is already open attaches instead of opening a second)."""
        for inc in self.store.open_incidents():
            if inc.pipeline == f.pipeline and inc.kind is f.kind and (f.subject, f.partition) in inc.items:
                return inc
        return None

    def _describe(self, inc: Incident) -> None:
        """Partition (the days, as compact ranges) and summary from what the incident lists."""
        p = self._pipeline(inc.pipeline)
        inc.partition = describe_days(inc.days)
        first = inc.subjects[0] if inc.subjects else "-"
        more = f" (+{len(inc.subjects) - 1} more)" if len(inc.subjects) > 1 else ""
        inc.summary = (f"{p.name}: {inc.kind.value.replace('_', ' ')} on {first}{more}"
                       + (f" [{inc.partition}]" if inc.partition else ""))

    def _open(self, f: Failure) -> Incident:
        p = self._pipeline(f.pipeline)
        sev = severity_for(f.kind, pipeline_is_investor=p.is_investor, feeds_investor=f.feeds_investor)
        t0 = first_page_time(f.at, sev, self.settings, self.calendar)
        inc = Incident(
            id=self.store.next_id(), dedup_key=f.dedup_key, pipeline=f.pipeline, kind=f.kind,
            partition=f.partition, severity=sev, status=Status.OPEN if t0 <= f.at else Status.DEFERRED,
            opened_at=f.at, page_start=t0, primary_owner=p.owners.primary, secondary_owner=p.owners.secondary,
            subjects=[f.subject], run_ids=[f.run_id] if f.run_id else [],
            last_seen_at=f.at, items=[(f.subject, f.partition)],
        )
        self._describe(inc)
        self.store.insert(inc)
        self.store.add_event(inc.id, f.at, "opened", detail=f"{sev}; {f.subject}: {f.detail}"[:2000])
        if inc.status is Status.DEFERRED:
            self.store.add_event(inc.id, f.at, "deferred", due_at=t0, detail="outside coverage window")
        return inc

    def _attach(self, inc: Incident, f: Failure) -> int:
        """Add a failure to an open incident; 0 when it is one the incident already holds (the same
        subject and day from the same run), so occurrences count only new evaluations."""
        item = (f.subject, f.partition)
        if item in inc.items and f.run_id is not None and f.run_id in inc.run_ids:
            return 0
        inc.occurrences += 1
        inc.last_seen_at = max(inc.last_seen_at or f.at, f.at)
        if item not in inc.items:
            inc.items.append(item)
        if f.subject not in inc.subjects:
            inc.subjects.append(f.subject)
        if f.run_id and f.run_id not in inc.run_ids:
            inc.run_ids.append(f.run_id)
        p = self._pipeline(f.pipeline)
        sev = severity_for(f.kind, pipeline_is_investor=p.is_investor, feeds_investor=f.feeds_investor)
        if URGENCY_ORDER[sev] > URGENCY_ORDER[inc.severity]:
            detail = f"{inc.severity} -> {sev}: {f.subject}"
            self.store.add_event(inc.id, f.at, "severity_raised", detail=detail)
            inc.severity = sev
            inc.page_start = min(inc.page_start, first_page_time(f.at, sev, self.settings, self.calendar))
            if inc.status is Status.DEFERRED and inc.page_start <= self.clock.now():
                inc.status = Status.OPEN
        return 1

    def notify_launcher(self, *, pipeline: str, launch: str, launcher: str | None, subject: str, at,
                        detail: str) -> bool:
        """A policy refusal (a closed period without approval, a day not over, too little history) is
        a notice to whoever launched the run, not a page: one per pipeline and launch. Without a
        known launcher (a schedule, an anonymous UI launch) the pipeline's primary owner gets it."""
        p = self._pipeline(pipeline)
        to = launcher or self.roles.owner(p.owners.primary)[0]  # a team owner: its escalation contact
        notice_id, level = f"NOTICE-{launch[:12]}", f"policy:{pipeline}"
        if any(o.level == level and o.recipient == to for o in self.store.outbox(notice_id)):
            return False
        who = f"launched by {launcher}" if launcher else "launcher unknown: sent to the primary owner"
        self.dispatcher.send(Message(
            incident_id=notice_id, pipeline=pipeline, kind="policy_refusal", severity="notice",
            urgency="info", event="notify", level=level, recipient=to,
            subject=f"FYI {p.name}: publication held back by policy ({subject})",
            body=(f"{detail}\nlaunch: {launch} ({who})\nNothing is wrong with the data; nobody was paged."
                  f"\nrunbook: {p.runbook}"),
            at=at,
        ))
        return True

    def notify_unmapped(self, subject: str, kind: FailureKind, at, detail: str = "") -> None:
        """An asset no pipeline claims: tell the configured role (platform lead) and warn."""
        to = self.roles.email(self.settings.unmapped_asset_role)
        log.warning("asset %s belongs to no pipeline; %s routed to %s", subject, kind.value, to)
        self.dispatcher.send(Message(
            incident_id="UNMAPPED", pipeline="-", kind=kind.value, severity="notice", urgency="info",
            event="notify", level=f"unmapped:{self.settings.unmapped_asset_role}", recipient=to,
            subject=f"FYI {kind.value} on {subject}, which belongs to no pipeline",
            body=f"{detail}\nTag the asset with pipeline=<id> (config/pipelines.yaml).", at=at,
        ))

    def recover(self, recoveries: Iterable[Recovery]) -> TickReport:
        """Remove healthy (subject, day) items; an incident with none left is resolved (no page if
        still deferred). A recovery without a day clears the subject on every day."""
        rep = TickReport()
        by_kind: dict[tuple[str, FailureKind], list[Recovery]] = defaultdict(list)
        for r in recoveries:
            by_kind[(r.pipeline, r.kind)].append(r)
        if not by_kind:
            return rep
        for inc in self.store.open_incidents():
            rs = by_kind.get((inc.pipeline, inc.kind), [])
            hit = [r for r in rs if any(s == r.subject and (r.partition is None or d == r.partition)
                                        for s, d in inc.items)]
            if not hit:
                continue
            for r in hit:
                inc.items = [(s, d) for s, d in inc.items
                             if not (s == r.subject and (r.partition is None or d == r.partition))]
            inc.subjects = [s for s in inc.subjects if any(s == i for i, _ in inc.items)]
            if not inc.items:
                inc.subjects = []
                self._resolve(inc, max(r.at for r in hit), "system", "recovered")
                rep.resolved.append(inc.id)
            else:
                self._describe(inc)
                self.store.update(inc)
        return rep

    def resolve_runs(self, run_ids: set[str], at, reason: str) -> TickReport:
        """A successful retry/re-execution resolves the run-failure incidents of its root run."""
        rep = TickReport()
        for inc in self.store.open_incidents():
            if inc.kind is FailureKind.RUN_FAILURE and run_ids & set(inc.run_ids):
                self._resolve(inc, at, "system", reason)
                rep.resolved.append(inc.id)
        return rep

    # -- people ------------------------------------------------------------------------------
    def ack(self, incident_id: str, by: str) -> Incident:
        inc = self._get_open(incident_id)
        now = self.clock.now()
        if inc.acked_at is None:
            inc.acked_at, inc.acked_by, inc.status = now, by, Status.ACKED
            self.store.update(inc)
            self.store.add_event(inc.id, now, "ack", recipient=by)
            self._broadcast(inc, "acknowledge", f"acknowledged by {by}")
        return inc

    def resolve(self, incident_id: str, by: str, reason: str = "resolved by hand") -> Incident:
        inc = self._get_open(incident_id)
        self._resolve(inc, self.clock.now(), by, reason)
        return inc

    def _get_open(self, incident_id: str) -> Incident:
        inc = self.store.get(incident_id)
        if inc is None:
            raise KeyError(f"no incident {incident_id!r}")
        if inc.status is Status.RESOLVED:
            raise ValueError(f"incident {incident_id} is already resolved ({inc.resolution})")
        return inc

    def _resolve(self, inc: Incident, at, by: str, reason: str) -> None:
        was_deferred = inc.status is Status.DEFERRED and not self.store.delivered_keys(inc.id)
        inc.status, inc.resolved_at, inc.resolved_by = Status.RESOLVED, at, by
        inc.resolution = reason + (" before its coverage window opened; nobody paged" if was_deferred else "")
        self.store.update(inc)
        self.store.add_event(inc.id, at, "resolve", recipient=by, detail=inc.resolution)
        if not was_deferred:  # someone was paged: an RCA may be owed
            self.lifecycle.on_resolved(inc)
            self._broadcast(inc, "resolve", f"resolved: {inc.resolution}")
            self._post_status(inc, "resolved", f"resolved {at:%Y-%m-%d %H:%M} UTC: {inc.resolution}")

    # -- status channel ----------------------------------------------------------------------
    def _posts_status(self, inc: Incident) -> bool:
        """Investor numbers affected or at risk: sev1 incidents and SLAs at risk of investor
        pipelines (WARN notices never page, so they do not post either)."""
        if not self.settings.status_channel or not self._pipeline(inc.pipeline).is_investor:
            return False
        return inc.severity == "sev1" or inc.kind is FailureKind.SLA_AT_RISK

    def _post_status(self, inc: Incident, state: str, when: str) -> None:
        """One status update to the status channel (e.g. #investor-kpis), recorded on the incident."""
        if not self._posts_status(inc):
            return
        now = self.clock.now()
        p = self._pipeline(inc.pipeline)
        days = f"\ndays: {inc.partition}" if inc.partition else ""
        msg = Message(
            incident_id=inc.id, pipeline=inc.pipeline, kind=inc.kind.value, severity=inc.severity,
            urgency="info", event="status", level="status", recipient=None,
            channel=self.settings.status_channel,
            subject=f"STATUS {state}: {inc.id} {inc.summary}",
            body=(f"{p.name} ({inc.kind.value.replace('_', ' ')}): {state}, {when}{days}"
                  f"\nowner: {inc.primary_owner}\nrunbook: {p.runbook}"),
            at=now,
        )
        results = self.dispatcher.send(msg)
        ok = [d.channel for d in results if d.ok]
        self.store.add_event(inc.id, now, "status", level="status", recipient=self.settings.status_channel,
                             channel=",".join(ok) or None, detail=state)

    # -- escalation --------------------------------------------------------------------------
    def advance(self, recovered: RecoveredProbe | None = None) -> TickReport:
        """Move every open incident along its ladder; re-check deferred ones as their window opens."""
        rep = self._schedule_back()
        now = self.clock.now()
        rep.delivered += self.retry_pending()  # what earlier ticks left pending, first
        self.lookup.who(now)  # an instant no schedule covers opens the schedule-missing incident below
        for inc in self.store.open_incidents():
            if inc.status is Status.DEFERRED:
                if inc.page_start > now:
                    continue
                if recovered is not None and recovered(inc):
                    self._resolve(inc, now, "system", "recovered")
                    rep.resolved.append(inc.id)
                    continue
                inc.status = Status.OPEN
                self.store.update(inc)
            rep.delivered += self._deliver_due(inc)
        rep.delivered += self.lifecycle.notify_overdue() + self.lifecycle.send_handoff()
        return rep.merge(self._schedule_gap())

    def plan(self, inc: Incident) -> list[PlannedPage]:
        return plan_pages(
            inc, lookup=self.lookup, settings=self.settings, roles=self.roles, calendar=self.calendar,
            now=self.clock.now(), delegate_escalation=self.settings.channels.pagerduty_escalates,
        )

    def _deliver_due(self, inc: Incident) -> list[tuple[str, str, str, str]]:
        if inc.status is Status.DEFERRED and inc.page_start > self.clock.now():
            return []
        sent = self.store.delivered_keys(inc.id)
        out = []
        for page in self.plan(inc):
            if page.key in sent:
                continue
            if self._deliver(inc, page):
                out.append((inc.id, page.action.value, page.level, page.recipient))
            sent.add(page.key)
        return out

    def _deliver(self, inc: Incident, page: PlannedPage) -> bool:
        now = self.clock.now()
        p = self._pipeline(inc.pipeline)
        role = " (you are the incident commander)" if page.level == "incident_commander" else ""
        verb = {Action.PAGE: "PAGE", Action.NOTIFY: "FYI", Action.ROLE: "ROLE"}[page.action]
        msg = Message(
            incident_id=inc.id, pipeline=inc.pipeline, kind=inc.kind.value, severity=inc.severity,
            urgency=self.settings.severities[inc.severity].urgency if page.action is Action.PAGE else "info",
            event=page.action.value, level=page.level, recipient=page.recipient,
            subject=f"{verb} {inc.id} {inc.summary}",
            body=(
                f"{inc.summary}{role}\nlevel: {page.level} ({page.reason})"
                f"\nfailing: {', '.join(inc.subjects)}"
                f"\nopened: {inc.opened_at.isoformat()}  occurrences: {inc.occurrences}"
                f"\nrunbook: {p.runbook}\nack: metrics incidents ack {inc.id} --by <you>"
            ),
            at=now, channel=page.channel, runbook=p.runbook,
            run_id=inc.run_ids[-1] if inc.run_ids else None,
        )
        results = self.dispatcher.send(msg)
        if not any(d.attempted for d in results):
            return False  # sent, or left pending, by an earlier tick: retry_pending() carries it on
        ok = [d.channel for d in results if d.ok and d.state != "skipped"]
        # a page is delivered once its paging channel took it (PagerDuty when enabled); until then pending
        event, detail = page.action.value, page.reason
        if page.action is Action.PAGE and not self.dispatcher.paged(results):
            event = "page_pending"
            detail += f"; not yet accepted by {'/'.join(sorted(self.dispatcher.paging_channels))}"
        self.store.add_event(
            inc.id, now, event, level=page.level, recipient=page.recipient,
            channel=",".join(ok) or None, due_at=page.at, detail=detail,
        )
        for d in results:
            if not d.ok:
                self.store.add_event(inc.id, now, "delivery_failed", level=page.level,
                                     recipient=page.recipient, channel=d.channel, detail=d.error)
        return True

    def _broadcast(self, inc: Incident, event: str, text: str) -> None:
        now = self.clock.now()
        msg = Message(
            incident_id=inc.id, pipeline=inc.pipeline, kind=inc.kind.value, severity=inc.severity,
            urgency="info", event=event, level=None, recipient=None,
            subject=f"{event.upper()} {inc.id} {inc.summary}", body=text, at=now,
        )
        for d in self.dispatcher.send(msg):
            if not d.ok:
                self.store.add_event(inc.id, now, "delivery_failed", channel=d.channel, detail=d.error)

    # -- delivery retries --------------------------------------------------------------------
    def retry_pending(self) -> list[tuple[str, str, str, str]]:
        """Retry the deliveries earlier ticks left pending (the escalation tick, through `advance`).
        A page counts as delivered (its "page" event) once its paging channel accepts it; every retry
        is on the incident's timeline (`metrics incidents show`)."""
        now = self.clock.now()
        out = []
        for r in self.dispatcher.retry_pending(now):
            m, d = r.message, r.delivery
            if self.store.get(m.incident_id) is None:
                continue  # notices and channel alerts have no incident timeline
            if not d.ok:
                self.store.add_event(m.incident_id, now, "delivery_failed", level=m.level,
                                     recipient=m.recipient, channel=d.channel, detail=d.error)
                continue
            self.store.add_event(m.incident_id, now, "delivered", level=m.level, recipient=m.recipient,
                                 channel=d.channel, detail=f"{m.event} after {d.attempts} attempts")
            if m.event == "page" and r.paged and (m.level, m.recipient, "page") not in \
                    self.store.delivered_keys(m.incident_id):
                self.store.add_event(m.incident_id, now, "page", level=m.level, recipient=m.recipient,
                                     channel=",".join(r.channels), detail=f"accepted by {d.channel} on retry")
                out.append((m.incident_id, m.event, m.level or "-", m.recipient or "-"))
        return out
