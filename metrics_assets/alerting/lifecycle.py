"""What happens around an incident besides paging: silences, RCAs and the Monday handoff report.

The rules are metrics_core/lifecycle.py; this applies them with the engine's store, clock, calendar,
lookup and dispatcher:
- a silence keeps matching failures from opening or attaching to incidents (each one is recorded
  against the silence); incidents already open keep their ladder until acked or resolved;
- an incident of an audience and severity the RCA policy names owes an RCA when it is resolved,
  due after `business_days` business days; an overdue RCA is notified once to the primary owner and
  the configured roles; `complete_rca` records the document and its author;
- at each block start the handoff report (open incidents, active silences, pending and overdue RCAs,
  the week's pages) is posted once to the handoff channel, addressed to the incoming Primary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from metrics_core.alerting_model import Failure, Incident
from metrics_core.config import ConfigError
from metrics_core.lifecycle import Silence, rca_due
from resources.channels import Message
from resources.lifecycle_store import LifecycleStore

if TYPE_CHECKING:  # the engine owns a Lifecycle; typing only
    from metrics_assets.alerting.engine import AlertEngine

def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "-"


class Lifecycle:
    def __init__(self, engine: AlertEngine) -> None:
        self.e = engine
        self.store = LifecycleStore(engine.store.conn)
        self.policy = engine.settings.lifecycle

    # -- silences ----------------------------------------------------------------------------
    def unsilenced(self, failures: Iterable[Failure]) -> list[Failure]:
        """The failures no active silence covers; the others are recorded against their silence."""
        out, silences = [], None
        for f in failures:
            silences = silences if silences is not None else self.store.active_silences(f.at)
            hit = next((s for s in silences if s.matches(f.pipeline, f.subject, f.at)), None)
            if hit is None:
                out.append(f)
            else:
                self.store.record_silenced(hit.id, f.at, f.pipeline, f.kind.value, f.subject, f.partition)
        return out

    def silence(self, *, pipeline: str, check: str | None, until: datetime, reason: str, by: str) -> Silence:
        now = self.e.clock.now()
        self.e.pipelines.get(pipeline)  # an unknown pipeline id raises, naming the known ones
        if not reason.strip() or not by.strip():
            raise ConfigError("a silence needs --reason and --by (who silenced what, and why)")
        if until <= now:
            raise ConfigError(f"--until {until.isoformat()} is not after now ({now.isoformat()})")
        limit = timedelta(days=self.policy.max_silence_days)
        if until - now > limit:
            raise ConfigError(f"--until is more than lifecycle.max_silence_days ({limit.days}) away; "
                              "fix the cause or raise the limit in config/alerting.yaml")
        s = Silence(self.store.next_silence_id(), pipeline, check, now, until, reason.strip(), by.strip())
        self.store.add_silence(s)
        return s

    # -- RCAs --------------------------------------------------------------------------------
    def owes_rca(self, inc: Incident) -> bool:
        p = self.e._pipeline(inc.pipeline)
        audience = "investor" if p.is_investor else "experiment"
        return audience in self.policy.rca.audiences and inc.severity in self.policy.rca.severities

    def on_resolved(self, inc: Incident) -> None:
        if inc.resolved_at is not None and self.owes_rca(inc):
            due = rca_due(inc.resolved_at, self.policy.rca.business_days, self.e.calendar)
            self.store.add_rca(inc.id, inc.pipeline, inc.severity, due, inc.resolved_at)
            self.e.store.add_event(inc.id, inc.resolved_at, "rca_due", due_at=due,
                                   detail=f"RCA due within {self.policy.rca.business_days} business days")

    def complete_rca(self, incident_id: str, doc_url: str, by: str) -> None:
        rca = self.store.rca(incident_id)
        if rca is None:
            rca_cfg = self.policy.rca
            raise ConfigError(
                f"{incident_id} owes no RCA (lifecycle.rca: audiences {list(rca_cfg.audiences)}, "
                f"severities {list(rca_cfg.severities)}, once resolved)"
            )
        if "://" not in doc_url:
            raise ConfigError(f"--doc {doc_url!r} is not a URL")
        now = self.e.clock.now()
        self.store.complete_rca(incident_id, doc_url, by, now)
        self.e.store.add_event(incident_id, now, "rca", recipient=by, detail=doc_url)

    def notify_overdue(self) -> list[tuple[str, str, str, str]]:
        now, out = self.e.clock.now(), []
        for rca in self.store.rcas(pending=True):
            if not rca.overdue(now) or rca.overdue_notified_at is not None:
                continue
            inc = self.e.store.get(rca.incident_id)
            if inc is None:
                continue
            p = self.e._pipeline(inc.pipeline)
            people = [inc.primary_owner, *(self.e.roles.email(r) for r in self.policy.rca.overdue_roles)]
            for to in dict.fromkeys(people):
                self.e.dispatcher.send(Message(
                    incident_id=inc.id, pipeline=inc.pipeline, kind=inc.kind.value, severity="notice",
                    urgency="info", event="notify", level="rca_overdue", recipient=to,
                    subject=f"FYI RCA overdue for {inc.id} {inc.summary}",
                    body=(f"The RCA of {inc.id} was due {_fmt(rca.due_at)} and is not recorded.\n"
                          f"record it: metrics incidents rca {inc.id} --doc <url> --by <you>\n"
                          f"runbook: {p.runbook}"),
                    at=now,
                ))
                self.e.store.add_event(inc.id, now, "notify", level="rca_overdue", recipient=to,
                                       detail=f"RCA due {_fmt(rca.due_at)}")
                out.append((inc.id, "notify", "rca_overdue", to))
            self.store.mark_overdue_notified(inc.id, now)
        return out

    # -- the Monday handoff ------------------------------------------------------------------
    def handoff_report(self, block_start: datetime) -> str:
        """What the outgoing Primary hands over at `block_start`: open incidents, active silences,
        pending and overdue RCAs, and every page and notification of the week before."""
        at = block_start
        incoming = self.e.lookup.who(at)
        lines = [f"On-call handoff {at:%Y-%m-%d %H:%M %Z} (block start): incoming Primary "
                 f"{incoming.primary}, Backup {incoming.backup}"]
        open_incs = [i for i in self.e.store.open_incidents() if i.opened_at <= at]
        lines.append(f"\nOpen incidents ({len(open_incs)}):")
        lines += [f"  {i.id} {i.status.value} {i.severity} {i.summary} (opened {_fmt(i.opened_at)})"
                  for i in open_incs] or ["  none"]
        sil = self.store.active_silences(at)
        counts = self.store.silenced_counts()
        lines.append(f"\nSilences ({len(sil)}):")
        lines += [f"  {s.id} {s.pipeline}{':' + s.check if s.check else ''} until {_fmt(s.until)} by "
                  f"{s.created_by}: {s.reason} ({counts.get(s.id, 0)} failures suppressed)"
                  for s in sil] or ["  none"]
        pending = [r for r in self.store.rcas(pending=True) if r.created_at <= at]
        lines.append(f"\nRCAs pending ({len(pending)}):")
        lines += [f"  {r.incident_id} {r.pipeline} {r.severity} due {_fmt(r.due_at)}"
                  + ("  OVERDUE" if r.overdue(at) else "") for r in pending] or ["  none"]
        week = [ev for ev in self.e.store.events()
                if ev.event in ("page", "notify") and at - timedelta(days=7) <= ev.at < at]
        pages = sum(ev.event == "page" for ev in week)
        lines.append(f"\nThe week's pages ({pages} pages, {len(week) - pages} notifications):")
        lines += [f"  {_fmt(ev.at)} {ev.event} {ev.incident_id} [{ev.level}] -> {ev.recipient}"
                  for ev in week] or ["  none"]
        return "\n".join(lines)

    def send_handoff(self) -> list[tuple[str, str, str, str]]:
        """The report of the current block, once, soon after its start."""
        now = self.e.clock.now()
        if not self.policy.handoff_channel:
            return []
        try:
            start = self.e.lookup.who(now).block_start
        except LookupError:  # before the first published block
            return []
        late = timedelta(hours=self.policy.handoff_late_after_hours)
        if start is None or now - start > late or self.store.handoff_sent(start):
            return []
        body = self.handoff_report(start)
        to = self.e.lookup.who(start).primary
        ident = f"HANDOFF-{start:%Y-%m-%d}"
        self.e.dispatcher.send(Message(
            incident_id=ident, pipeline="-", kind="handoff", severity="notice", urgency="info",
            event="notify", level="handoff_report", recipient=to, channel=self.policy.handoff_channel,
            subject=f"On-call handoff {start:%Y-%m-%d}", body=body, at=now,
        ))
        self.store.add_handoff(start, now, to, body)
        return [(ident, "notify", "handoff_report", to)]
