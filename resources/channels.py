"""Delivery channels, chosen in config/alerting.yaml: outbox (default), Slack, PagerDuty, e-mail.

Secrets are read from environment variables named in the config, only when a channel is
built, and are scrubbed from every error before it is logged or stored.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import pypd
from dagster_pagerduty import PagerDutyService
from dagster_slack import SlackResource

from metrics_core.alerting_settings import (
    AlertingSettings,
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
)
from metrics_core.config import ConfigError

log = logging.getLogger(__name__)
# pypd logs whole request payloads (routing key included) at DEBUG: keep it quiet.
logging.getLogger("pypd").setLevel(logging.WARNING)


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


class Channel(Protocol):
    name: str

    def send(self, msg: Message) -> None: ...


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


class SlackChannel:
    """Posts to the pipeline's channel through dagster-slack's SlackResource, mentioning the person."""

    name = "slack"

    def __init__(self, cfg: SlackSettings, env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.secrets = [_secret(env, cfg.token_env, "channels.slack.token_env")]
        self.client = SlackResource(token=self.secrets[0]).get_client()
        self.client.base_url = cfg.base_url

    def send(self, msg: Message) -> None:
        channel = msg.channel or self.cfg.channel_by_pipeline.get(msg.pipeline, self.cfg.default_channel)
        who = f" -> {msg.recipient}" if msg.recipient else ""
        text = f"[{msg.severity} {msg.event}{who}] {msg.subject}\n{msg.body}"
        self.client.chat_postMessage(channel=channel, text=text)


@contextmanager
def _pypd_endpoint(url: str):
    """pypd posts to a class-level URL; point it at the configured endpoint for one call."""
    old = pypd.EventV2.base_url
    pypd.EventV2.base_url = url
    try:
        yield
    finally:
        pypd.EventV2.base_url = old


class PagerDutyChannel:
    """PagerDuty Events v2 via dagster-pagerduty; the dedup key is the incident id.

    Sends a trigger for pages (PagerDuty's escalation policy then runs the ladder when
    `handles_escalation`), and acknowledge/resolve for state changes. Notifications are not
    sent: PagerDuty is for waking people up.
    """

    name = "pagerduty"
    _PD_SEVERITY = {"sev1": "critical", "sev2": "warning", "notice": "info"}

    def __init__(self, cfg: PagerDutySettings, env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.keys = {
            sev: _secret(env, var, f"channels.pagerduty.routing_key_env.{sev}")
            for sev, var in cfg.routing_key_env.items()
        }
        self.secrets = list(self.keys.values())

    def send(self, msg: Message) -> None:
        if msg.event not in ("page", "acknowledge", "resolve"):
            return
        service = PagerDutyService(routing_key=self.keys[msg.severity])
        with _pypd_endpoint(self.cfg.base_url):
            service.EventV2_create(
                summary=msg.subject[:1024],
                source="metrics-platform",
                severity=self._PD_SEVERITY[msg.severity],
                event_action="trigger" if msg.event == "page" else msg.event,
                dedup_key=msg.incident_id,
                component=msg.pipeline,
                group=msg.kind,
                custom_details={"level": msg.level, "recipient": msg.recipient, "body": msg.body},
            )


class EmailChannel:
    name = "email"

    def __init__(self, cfg: EmailSettings, env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.user = env.get(cfg.username_env or "", "") if cfg.username_env else ""
        self.password = env.get(cfg.password_env or "", "") if cfg.password_env else ""
        self.secrets = [self.password] if self.password else []

    def send(self, msg: Message) -> None:
        if not msg.recipient:
            return
        em = EmailMessage()
        em["From"] = self.cfg.sender
        em["To"] = msg.recipient
        em["Subject"] = f"[{msg.severity}] {msg.subject}"
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


class Dispatcher:
    """Sends a message on every enabled channel; a failing channel never stops the others,
    and if all fail the message still lands in the outbox."""

    def __init__(self, channels: Sequence[Channel], fallback: Channel | None = None) -> None:
        self.channels = list(channels)
        self.fallback = fallback
        self.secrets = [s for c in self.channels for s in getattr(c, "secrets", [])]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    def send(self, msg: Message) -> list[Delivery]:
        out = []
        for ch in self.channels:
            try:
                ch.send(msg)
                out.append(Delivery(ch.name, True))
            except Exception as exc:  # a channel outage must not lose the alert
                err = redact(f"{type(exc).__name__}: {exc}", self.secrets)[:500]
                log.warning("alert delivery on %s failed for %s: %s", ch.name, msg.incident_id, err)
                out.append(Delivery(ch.name, False, err))
        if self.fallback is not None and out and not any(d.ok for d in out):
            self.fallback.send(msg)
            out.append(Delivery(self.fallback.name, True))
        return out




def build_dispatcher(
    settings: AlertingSettings, store: Any, env: Mapping[str, str] | None = None
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
            chans.append(SlackChannel(cfg.slack, env))  # type: ignore[arg-type]
        elif name == "pagerduty":
            chans.append(PagerDutyChannel(cfg.pagerduty, env))  # type: ignore[arg-type]
        elif name == "email":
            chans.append(EmailChannel(cfg.email, env))  # type: ignore[arg-type]
    return Dispatcher(chans, fallback=None if "outbox" in cfg.enabled else outbox)
