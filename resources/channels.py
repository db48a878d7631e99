"""Delivery channels, chosen in config/alerting.yaml: outbox (default), Slack, PagerDuty, e-mail.

Secrets are read from environment variables named in the config, only when a channel is
built, and are scrubbed from every error before it is logged or stored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from typing import Any, Protocol

from dagster_slack import SlackResource
from slack_sdk.errors import SlackApiError

from metrics_core.alerting_settings import (
    AlertingSettings,
    EmailSettings,
    PagerDutySettings,
    RetrySettings,
    Roles,
    SlackSettings,
    team_roles,
)
from metrics_core.config import ConfigError

log = logging.getLogger(__name__)
CLIENT = "metrics-platform"


@dataclass(frozen=True)
class Message:
    """One delivery: a page, a notification, or an incident state change (ack/resolve)."""

    incident_id: str
    pipeline: str
    kind: str
    severity: str
    urgency: str  # high | low | info
    event: str  # page | notify | role | acknowledge | resolve
    level: str | None
    recipient: str | None
    subject: str
    body: str
    at: datetime
    channel: str | None = None  # a Slack channel to post to instead of the pipeline's (status updates)
    runbook: str | None = None  # URL or path; PagerDuty links it
    run_id: str | None = None  # the Dagster run that failed; PagerDuty links <dagster_url>/runs/<id>

    @property
    def key(self) -> str:
        """The idempotency key: the same key is delivered at most once per channel. Status posts and
        messages outside incidents (UNMAPPED, CHANNEL-*) are one per occasion, so they add the time."""
        key = f"{self.incident_id}|{self.event}|{self.level or ''}|{self.recipient or ''}"
        if self.event == "status" or not self.incident_id.startswith(("INC-", "NOTICE-")):
            key += f"|{self.at.isoformat()}"
        return key

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self), "at": self.at.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> Message:
        d = json.loads(text)
        return cls(**{**d, "at": datetime.fromisoformat(d["at"])})


class DeliveryError(Exception):
    """A channel's refusal, classified: `retryable` (timeouts, 429, 5xx) or permanent (other 4xx)."""

    def __init__(self, text: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retryable, self.retry_after = retryable, retry_after


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds: delta-seconds, or an HTTP date relative to the message time."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            return None


def _http_status(status: int, text: str, retry_after: str | None, now: datetime) -> DeliveryError:
    return DeliveryError(f"HTTP {status}: {text[:300]}", retryable=status == 429 or status >= 500,
                         retry_after=_retry_after(retry_after, now) if status == 429 else None)


def classify(exc: BaseException, now: datetime) -> DeliveryError:
    """Any channel exception as a DeliveryError: may it be retried, and after how long."""
    if isinstance(exc, DeliveryError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        headers = getattr(exc.response, "headers", None) or {}
        err = exc.response.get("error") if hasattr(exc.response, "get") else None
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        if status == 200:  # ok:false (channel_not_found, invalid_auth, ...): a request problem
            return DeliveryError(f"slack error: {err or exc}", 
                                 retryable=err in ("ratelimited", "internal_error"))
        return _http_status(status, f"slack {err or exc}", retry_after, now)
    if isinstance(exc, smtplib.SMTPResponseException):  # 4xx transient, 5xx permanent
        return DeliveryError(text, retryable=400 <= exc.smtp_code < 500 or exc.smtp_code == -1)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return DeliveryError(text, retryable=any(400 <= c < 500 for c in codes))
    # timeouts, refused or reset connections, anything unexpected: try again later (bounded)
    return DeliveryError(text, retryable=True)


class Channel(Protocol):
    name: str

    def send(self, msg: Message) -> None: ...


def wants(ch: Channel, msg: Message) -> bool:
    """Whether the channel carries this kind of message at all (PagerDuty: pages and state changes)."""
    fn = getattr(ch, "wants", None)
    return True if fn is None else bool(fn(msg))


def redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _secret(env: Mapping[str, str], var: str, key: str) -> str:
    value = env.get(var)
    if not value:
        raise ConfigError(f"environment variable {var} (config/alerting.yaml {key}) is not set")
    return value


class OutboxChannel:
    """Writes every message to ops.outbox: the default, needs no network."""

    name = "outbox"

    def __init__(self, store: Any) -> None:
        self.store = store

    def send(self, msg: Message) -> None:
        self.store.add_outbox(
            at=msg.at, incident_id=msg.incident_id, recipient=msg.recipient or msg.channel or "-",
            action=msg.event,
            level=msg.level, urgency=msg.urgency, subject=msg.subject, body=msg.body,
        )


# Slack user ids by (API URL, e-mail): (id or None when Slack knows no such user, when looked up)
_SLACK_USERS: dict[tuple[str, str], tuple[str | None, datetime]] = {}
_LOOKUP_TTL = timedelta(days=1)


class SlackChannel:
    """Posts to the pipeline's channel through dagster-slack's SlackResource, mentioning the person
    as <@USERID> (users.lookupByEmail, cached per process and in the store for a day)."""

    name = "slack"

    def __init__(self, cfg: SlackSettings, env: Mapping[str, str], store: Any = None) -> None:
        self.cfg = cfg
        self.store = store
        self.secrets = [_secret(env, cfg.token_env, "channels.slack.token_env")]
        self.client = SlackResource(token=self.secrets[0]).get_client()
        self.client.base_url = cfg.base_url
        self.client.timeout = cfg.timeout_seconds
        self.client.retry_handlers = []  # the Dispatcher retries, with backoff and a record

    def send(self, msg: Message) -> None:
        channel = msg.channel or self.cfg.channel_by_pipeline.get(msg.pipeline, self.cfg.default_channel)
        who = f" -> {self.mention(msg.recipient, msg.at)}" if msg.recipient else ""
        text = f"[{msg.severity} {msg.event}{who}] {msg.subject}\n{msg.body}"
        self.client.chat_postMessage(channel=channel, text=text)

    def mention(self, email: str, at: datetime) -> str:
        """<@USERID> for an address Slack knows; the address itself when the look-up fails."""
        uid = self.user_id(email, at)
        return f"<@{uid}>" if uid else email

    def user_id(self, email: str, at: datetime) -> str | None:
        ck = (self.cfg.base_url, email.lower())
        hit = _SLACK_USERS.get(ck)
        if hit is None and self.store is not None:
            row = self.store.delivery(f"slack-user:{ck[1]}", self.name)
            if row is not None and row["delivered_at"] is not None:
                hit = (json.loads(row["payload"]).get("user"), row["delivered_at"])
                _SLACK_USERS[ck] = hit
        if hit is not None and abs(at - hit[1]) < _LOOKUP_TTL:
            return hit[0]
        try:
            uid = self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                log.warning("slack users.lookupByEmail failed (%s); mentioning by e-mail",
                            redact(str(exc.response.get("error")), self.secrets))
                return None
            uid = None  # no such user: remembered too, so it is asked once a day
        except Exception as exc:  # a look-up problem never stops the message
            log.warning("slack users.lookupByEmail failed (%s); mentioning by e-mail", type(exc).__name__)
            return None
        _SLACK_USERS[ck] = (uid, at)
        if self.store is not None:
            key, payload = f"slack-user:{ck[1]}", json.dumps({"user": uid})
            self.store.claim_delivery(incident_id="-", message_key=key, channel=self.name, payload=payload,
                                      at=at, status="lookup")
            self.store.update_delivery(key, self.name, status="lookup", attempts=1, at=at, delivered_at=at,
                                       payload=payload)
        return uid


class PagerDutyChannel:
    """PagerDuty Events v2; the dedup key is the incident id.

    Sends a trigger for pages (PagerDuty's escalation policy then runs the ladder when
    `handles_escalation`), and acknowledge/resolve for state changes. Notifications are not
    sent: PagerDuty is for waking people up. The event JSON is posted here (urllib) rather than
    through dagster-pagerduty's EventV2_create / pypd: those carry no `links`, `client` or
    `client_url`, take no timeout and hide Retry-After.
    """

    name = "pagerduty"
    _PD_SEVERITY = {"sev1": "critical", "sev2": "warning", "notice": "info"}

    def __init__(self, cfg: PagerDutySettings, env: Mapping[str, str], dagster_url: str = "") -> None:
        self.cfg = cfg
        self.dagster_url = dagster_url.rstrip("/")
        self.keys = {
            sev: _secret(env, var, f"channels.pagerduty.routing_key_env.{sev}")
            for sev, var in cfg.routing_key_env.items()
        }
        self.secrets = list(self.keys.values())

    @staticmethod
    def wants(msg: Message) -> bool:
        return msg.event in ("page", "acknowledge", "resolve")

    def event(self, msg: Message) -> dict[str, Any]:
        """The Events v2 body for a message."""
        body: dict[str, Any] = {
            "routing_key": self.keys[msg.severity],
            "event_action": "trigger" if msg.event == "page" else msg.event,
            "dedup_key": msg.incident_id,
        }
        if msg.event != "page":
            return body
        links = []
        if msg.runbook:
            links.append({"href": msg.runbook, "text": "Runbook"})
        if msg.run_id and self.dagster_url:
            links.append({
                "href": f"{self.dagster_url}/runs/{msg.run_id}",
                "text": f"Dagster run {msg.run_id}",
            })
        body.update(
            payload={
                "summary": msg.subject[:1024], "source": CLIENT,
                "severity": self._PD_SEVERITY[msg.severity], "timestamp": msg.at.astimezone(UTC).isoformat(),
                "component": msg.pipeline, "group": msg.kind,
                "custom_details": {"level": msg.level, "recipient": msg.recipient, "body": msg.body},
            },
            client=CLIENT, client_url=self.cfg.client_url or self.dagster_url or None, links=links,
        )
        return {k: v for k, v in body.items() if v is not None}

    def send(self, msg: Message) -> None:
        if not self.wants(msg):
            return
        req = urllib.request.Request(
            self.cfg.base_url, data=json.dumps(self.event(msg)).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_seconds) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            text, retry_after = exc.read().decode(errors="replace"), exc.headers.get("Retry-After")
            raise _http_status(exc.code, f"pagerduty {text}", retry_after, msg.at) from None


class EmailChannel:
    name = "email"

    def __init__(self, cfg: EmailSettings, env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.user = env.get(cfg.username_env or "", "") if cfg.username_env else ""
        self.password = env.get(cfg.password_env or "", "") if cfg.password_env else ""
        self.secrets = [self.password] if self.password else []
        self.domain = cfg.sender.rsplit("@", 1)[-1].strip(">").strip() or "localhost"

    @staticmethod
    def wants(msg: Message) -> bool:
        return bool(msg.recipient)

    def send(self, msg: Message) -> None:
        if not msg.recipient:
            return
        em = EmailMessage()
        em["From"] = self.cfg.sender
        em["To"] = msg.recipient
        em["Subject"] = f"[{msg.severity}] {msg.subject}"
        em["Date"] = formatdate(msg.at.timestamp(), usegmt=True)
        em["Message-ID"] = make_msgid(idstring=msg.incident_id, domain=self.domain)
        em.set_content(msg.body)
        with smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_seconds) as smtp:
            if self.cfg.starttls:
                smtp.starttls()
            if self.user and self.password:
                smtp.login(self.user, self.password)
            smtp.send_message(em)


@dataclass(frozen=True)
class Delivery:
    channel: str
    ok: bool
    error: str = ""
    state: str = "delivered"  # delivered | duplicate | skipped | pending | failed
    attempted: bool = True  # False: this call added nothing (sent or pending before, or not for this channel)
    attempts: int = 1


@dataclass(frozen=True)
class Retried:
    """One retry of a pending delivery: the message, how it went, and whether the message is now
    paged (its paging channel accepted it)."""

    message: Message
    delivery: Delivery
    paged: bool
    channels: tuple[str, ...]  # every channel that has delivered this message so far


def backoff_sleep(seconds: float) -> None:
    """The wait between in-call attempts (tests replace it to record the waits)."""
    time.sleep(seconds)


_HEALTH = "channel-health"
_STALE_SENDING = timedelta(minutes=10)  # a 'sending' row older than this was left by a dead process


class Dispatcher:
    """Sends a message on every enabled channel; a failing channel never stops the others,
    and if all fail the message still lands in the outbox.

    With a store, every (message key, channel) is a row of ops.deliveries: sent at most once,
    retried a few times in the call (short backoff), then left pending for `retry_pending`
    (each escalation tick) until delivered or given up. Messages of one incident reach a channel
    in order (an ack never overtakes its pending trigger). A channel failing `failing_after`
    times in a row alerts `alert_to` through the other channels, once, and again when it recovers.
    """

    def __init__(
        self, channels: Sequence[Channel], fallback: Channel | None = None, *, store: Any = None,
        retry: RetrySettings | None = None, failing_after: int = 3, alert_to: str | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.channels = list(channels)
        self.fallback = fallback
        self.secrets = [s for c in self.channels for s in getattr(c, "secrets", [])]
        self.store = store
        self.retry = retry or RetrySettings()
        self.failing_after = failing_after
        self.alert_to = alert_to
        self.sleep = sleep or backoff_sleep
        self._alerting = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def paging_channels(self) -> set[str]:
        """The channels whose acceptance makes a page delivered: PagerDuty when enabled, else any
        channel but the outbox (which always accepts), else the outbox alone."""
        names = set(self.names)
        if "pagerduty" in names:
            return {"pagerduty"}
        return (names - {"outbox"}) or {"outbox"}

    def paged(self, results: Sequence[Delivery]) -> bool:
        return any(d.ok and d.state in ("delivered", "duplicate") and d.channel in self.paging_channels
                   for d in results)

    # -- sending -----------------------------------------------------------------------------
    def send(self, msg: Message, *, exclude: str | None = None) -> list[Delivery]:
        out = [self._send_on(ch, msg) for ch in self.channels if ch.name != exclude]
        delivered = any(d.ok and d.state != "skipped" for d in out)
        if self.fallback is not None and out and not delivered and any(d.attempted for d in out):
            out.append(self._send_on(self.fallback, msg))
        return out

    def _send_on(self, ch: Channel, msg: Message) -> Delivery:
        if not wants(ch, msg):
            return Delivery(ch.name, True, state="skipped", attempted=False, attempts=0)
        if self.store is None:
            return self._outcome(ch, msg, prior=0, tries=self.retry.attempts, now=msg.at)
        key = msg.key
        if not self.store.claim_delivery(incident_id=msg.incident_id, message_key=key, channel=ch.name,
                                         payload=msg.to_json(), at=msg.at):
            row = self.store.delivery(key, ch.name)
            if row["status"] == "delivered":
                return Delivery(ch.name, True, state="duplicate", attempted=False, attempts=row["attempts"])
            state = "failed" if row["status"] == "failed" else "pending"
            return Delivery(ch.name, False, row["last_error"] or "", state=state, attempted=False,
                            attempts=row["attempts"])
        earlier = [r for r in self.store.open_deliveries() if r["incident_id"] == msg.incident_id
                   and r["channel"] == ch.name and r["message_key"] != key]
        if earlier:  # keep the incident's order on this channel: retried right after the earlier one
            why = f"queued behind pending {earlier[0]['message_key']}"
            self.store.update_delivery(key, ch.name, status="pending", attempts=0, at=msg.at,
                                       last_error=why, next_attempt_at=msg.at)
            return Delivery(ch.name, False, why, state="pending", attempts=0)
        tries = 1 if self._is_failing(ch.name) else self.retry.attempts
        d = self._outcome(ch, msg, prior=0, tries=tries, now=msg.at)
        self._health(ch.name, d, msg.at)
        return d

    def _outcome(self, ch: Channel, msg: Message, *, prior: int, tries: int, now: datetime) -> Delivery:
        """Up to `tries` attempts with short backoff; the row updated with what happened."""
        r, n, err = self.retry, 0, None
        while True:
            n += 1
            try:
                ch.send(msg)
                err = None
                break
            except Exception as exc:  # a channel outage must not lose the alert
                err = classify(exc, now)
                if not err.retryable or n >= tries:
                    break
                wait = min(r.backoff_seconds * 2 ** (n - 1), r.max_backoff_seconds)
                if err.retry_after is not None:
                    if err.retry_after > r.max_backoff_seconds:
                        break  # too long to wait inside a tick: pending until then
                    wait = max(wait, err.retry_after)
                self.sleep(wait)
        attempts = prior + n
        key = msg.key
        if err is None:
            if self.store is not None:
                self.store.update_delivery(key, ch.name, status="delivered", attempts=attempts, at=now,
                                           delivered_at=now)
            return Delivery(ch.name, True, attempts=attempts)
        text = redact(str(err), self.secrets)[:400]
        if not err.retryable:
            status, note, nxt = "failed", "permanent, not retried", None
        elif attempts >= r.give_up_after_attempts:
            status, note, nxt = "failed", f"gave up after {attempts} attempts", None
        else:
            wait = min(r.backoff_seconds * 2 ** attempts, r.pending_max_backoff_seconds)
            nxt = now + timedelta(seconds=max(wait, err.retry_after or 0))
            status, note = "pending", f"attempt {attempts}, pending: retried from {nxt:%Y-%m-%d %H:%M:%S} UTC"
        if self.store is not None:
            self.store.update_delivery(key, ch.name, status=status, attempts=attempts, at=now,
                                       last_error=text, next_attempt_at=nxt)
        log.warning("alert delivery on %s failed for %s (%s): %s", ch.name, msg.incident_id, note, text)
        return Delivery(ch.name, False, f"{text} ({note})", state=status, attempts=attempts)

    # -- retrying ----------------------------------------------------------------------------
    def retry_pending(self, now: datetime) -> list[Retried]:
        """One attempt for each pending delivery that is due, oldest first. A channel that fails
        again is not tried further in this pass, and a later message of the same incident waits
        for the earlier one on that channel."""
        if self.store is None:
            return []
        by_name = {c.name: c for c in self.channels}
        if self.fallback is not None:
            by_name.setdefault(self.fallback.name, self.fallback)
        down: set[str] = set()
        waiting: set[tuple[str, str]] = set()  # (incident, channel) with an earlier row still open
        out = []
        for row in self.store.open_deliveries():
            lane = (row["incident_id"], row["channel"])
            ch = by_name.get(row["channel"])
            stale = row["status"] == "sending" and row["last_attempt_at"] < now - _STALE_SENDING
            due = (row["status"] == "pending" and row["next_attempt_at"] is not None
                   and row["next_attempt_at"] <= now) or stale
            if ch is None or not due or lane in waiting or row["channel"] in down \
                    or not self.store.claim_retry(row["id"], now, now - _STALE_SENDING):
                waiting.add(lane)
                continue
            msg = Message.from_json(row["payload"])
            d = self._outcome(ch, msg, prior=row["attempts"], tries=1, now=now)
            self._health(ch.name, d, now)
            if not d.ok:
                waiting.add(lane)
                down.add(ch.name)
            rows = [r for r in self.store.deliveries(row["incident_id"]) if r["message_key"] == msg.key]
            done = tuple(r["channel"] for r in rows if r["status"] == "delivered")
            out.append(Retried(msg, d, paged=bool(set(done) & self.paging_channels), channels=done))
        return out

    # -- channel health ----------------------------------------------------------------------
    def _health_row(self, name: str, at: datetime) -> dict[str, Any]:
        self.store.claim_delivery(incident_id="-", message_key=_HEALTH, channel=name, payload="{}", at=at,
                                  status="channel")
        return self.store.delivery(_HEALTH, name)

    def _is_failing(self, name: str) -> bool:
        if self.store is None:
            return False
        row = self.store.delivery(_HEALTH, name)
        return row is not None and row["attempts"] >= self.failing_after

    def _health(self, name: str, d: Delivery, at: datetime) -> None:
        """Count failed deliveries in a row; raise the channel alert once at the threshold, and
        tell the same people when the channel delivers again."""
        if self.store is None:
            return
        row = self._health_row(name, at)
        state = json.loads(row["payload"] or "{}")
        if d.ok:
            self.store.update_delivery(_HEALTH, name, status="channel", attempts=0, at=at, delivered_at=at,
                                       payload=json.dumps({}))
            if state.get("alert"):
                self._channel_notice(name, at, failing=False, detail=f"raised {state['alert']}")
            return
        failures = row["attempts"] + 1
        raise_now = failures >= self.failing_after and not state.get("alert") and not self._alerting
        if raise_now:
            state = {"alert": at.isoformat()}
        self.store.update_delivery(_HEALTH, name, status="channel", attempts=failures, at=at,
                                   last_error=d.error, delivered_at=row["delivered_at"],
                                   payload=json.dumps(state))
        if raise_now:
            self._channel_notice(name, at, failing=True, detail=f"{failures} failed deliveries in a row; "
                                                                f"last: {d.error}")

    def _channel_notice(self, name: str, at: datetime, *, failing: bool, detail: str) -> None:
        """'channel <name> failing' (or delivering again) to the alert role, through the other
        channels and the outbox."""
        state = "failing" if failing else "delivering again"
        msg = Message(
            incident_id=f"CHANNEL-{name}", pipeline="-", kind="channel_failing", severity="notice",
            urgency="high" if failing and name in self.paging_channels else "info", event="notify",
            level=f"channel:{name}", recipient=self.alert_to,
            subject=f"{'ALERT' if failing else 'RECOVERED'} channel {name} {state}",
            body=(f"{detail}\nPending deliveries are retried on every escalation tick; "
                  "`metrics incidents show <id>` lists each one with its last error."),
            at=at,
        )
        self._alerting = True  # a channel failing while this goes out is counted, not alerted on again
        try:
            self.send(msg, exclude=name)
        finally:
            self._alerting = False
        log.error("alert channel %s %s: %s", name, state, detail)


def build_dispatcher(
    settings: AlertingSettings, store: Any, env: Mapping[str, str] | None = None,
    roles: Roles | None = None,
) -> Dispatcher:
    """The channels enabled in config; raises ConfigError naming a missing secret's env var."""
    env = os.environ if env is None else env
    cfg = settings.channels
    outbox = OutboxChannel(store)
    chans: list[Channel] = []
    for name in cfg.enabled:
        if name == "outbox":
            chans.append(outbox)
        elif name == "slack":
            chans.append(SlackChannel(cfg.slack, env, store))  # type: ignore[arg-type]
        elif name == "pagerduty":
            chans.append(PagerDutyChannel(cfg.pagerduty, env, cfg.dagster_url))  # type: ignore[arg-type]
        elif name == "email":
            chans.append(EmailChannel(cfg.email, env))  # type: ignore[arg-type]
    try:
        alert_to = (roles or team_roles()).email(cfg.failing_alert_role)
    except Exception as exc:  # a channel alert without a person still reaches the channels
        log.error("no %s for channel alerts: %s", cfg.failing_alert_role, exc)
        alert_to = None
    return Dispatcher(chans, fallback=None if "outbox" in cfg.enabled else outbox, store=store,
                      retry=cfg.retry, failing_after=cfg.failing_after, alert_to=alert_to)
