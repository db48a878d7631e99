"""Load config/alerting.yaml (coverage, ladder timings, channels) and the escalation roles.

All alerting numbers live in that file; a bad file is refused at load with the key named.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metrics_core.config import load_model
from metrics_core.lifecycle import LifecycleSettings
from metrics_core.owners import owner_routes
from metrics_core.paths import config_dir
from metrics_core.team import TeamConfig, load_team_config

Level = Literal["primary_oncall", "backup_oncall", "incident_commander", "platform_lead"]
RoleName = Literal["platform_lead", "engineering_manager", "finance_lead"]
SEVERITIES = ("sev1", "sev2", "notice")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LadderStep(_Strict):
    level: Level
    after_minutes: float = Field(ge=0)

    @property
    def after(self) -> timedelta:
        return timedelta(minutes=self.after_minutes)


class BusinessStep(_Strict):
    role: RoleName
    after_minutes: float = Field(gt=0)

    @property
    def after(self) -> timedelta:
        return timedelta(minutes=self.after_minutes)


class SeverityPolicy(_Strict):
    coverage: Literal["always", "business_hours"]
    urgency: Literal["high", "low", "info"]
    # false: the ladder's levels are notifications (the owner's channel), never pages (sev2)
    pages: bool = True
    ladder: tuple[LadderStep, ...] = ()
    business: tuple[BusinessStep, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> SeverityPolicy:
        delays = [s.after_minutes for s in self.ladder]
        if delays != sorted(delays):
            raise ValueError(f"ladder delays must not decrease, got {delays}")
        return self


class SensorSettings(_Strict):
    minimum_interval_seconds: dict[Literal["runs", "checks", "freshness", "escalation", "sla_at_risk"], int]
    initial_lookback_minutes: float = Field(default=60, ge=0)
    check_history_page: int = Field(default=500, ge=1)


class SlackSettings(_Strict):
    base_url: str
    token_env: str
    default_channel: str
    channel_by_pipeline: dict[str, str] = {}
    timeout_seconds: float = Field(default=10, gt=0)


class PagerDutySettings(_Strict):
    base_url: str
    routing_key_env: dict[Literal["sev1", "sev2", "notice"], str]
    handles_escalation: bool = True
    timeout_seconds: float = Field(default=10, gt=0)
    client_url: str | None = None  # the event's "client_url"; default: channels.dagster_url


class EmailSettings(_Strict):
    host: str
    port: int = Field(ge=1, le=65535)
    starttls: bool = False
    timeout_seconds: float = Field(default=10, gt=0)
    username_env: str | None = None
    password_env: str | None = None
    sender: str


class RetrySettings(_Strict):
    """Delivery retries: a few short tries inside one send (a sensor tick must stay short), then a
    pending delivery that every escalation tick retries with a growing wait, until delivered or
    `give_up_after_attempts`. Timeouts, 429 (Retry-After honoured) and 5xx retry; other 4xx do not."""

    attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=0.2, ge=0)
    max_backoff_seconds: float = Field(default=2, ge=0)
    pending_max_backoff_seconds: float = Field(default=300, ge=0)
    give_up_after_attempts: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _bounded(self) -> RetrySettings:
        if self.backoff_seconds > self.max_backoff_seconds:
            raise ValueError("backoff_seconds must not exceed max_backoff_seconds")
        return self


class ChannelSettings(_Strict):
    enabled: tuple[Literal["outbox", "slack", "pagerduty", "email"], ...] = ("outbox",)
    slack: SlackSettings | None = None
    pagerduty: PagerDutySettings | None = None
    email: EmailSettings | None = None
    retry: RetrySettings = RetrySettings()
    # this many failed deliveries in a row on one channel raise an alert to the role through the others
    failing_after: int = Field(default=3, ge=1)
    failing_alert_role: RoleName = "platform_lead"
    dagster_url: str = "http://127.0.0.1:3000"  # PagerDuty links to runs: <dagster_url>/runs/<run id>


    @model_validator(mode="after")
    def _configured(self) -> ChannelSettings:
        for name in self.enabled:
            if name != "outbox" and getattr(self, name) is None:
                raise ValueError(f"channel {name!r} is enabled but channels.{name} is not configured")
        return self

    @property
    def pagerduty_escalates(self) -> bool:
        return "pagerduty" in self.enabled and bool(self.pagerduty and self.pagerduty.handles_escalation)


class AlertingSettings(_Strict):
    severities: dict[Literal["sev1", "sev2", "notice"], SeverityPolicy]
    inform_primary_owner: bool = True
    unmapped_asset_role: RoleName = "platform_lead"
    # Investor incidents (sev1, and SLAs at risk) post a status update here on open and resolve,
    # through Slack when enabled and always to the outbox; null turns status updates off.
    status_channel: str | None = Field(default="#investor-kpis", pattern=r"^#[a-z0-9_-]+$")
    sensors: SensorSettings
    channels: ChannelSettings = ChannelSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()  # RCAs, silences, the Monday handoff report

    @model_validator(mode="after")
    def _all_severities(self) -> AlertingSettings:
        missing = sorted(set(SEVERITIES) - set(self.severities))
        if missing:
            raise ValueError(f"severities {missing} missing")
        return self

    def with_channels(self, **changes: object) -> AlertingSettings:
        """A copy with channel settings changed (tests and the CLI point channels elsewhere)."""
        return self.model_copy(update={"channels": self.channels.model_copy(update=changes)})


class Roles(_Strict):
    """The escalation roles of team.yaml, by e-mail."""

    platform_lead: str
    engineering_manager: str
    finance_lead: str
    # `team:<id>` -> (escalation contact e-mail, Slack channel) of each team.yaml team (metrics_core.owners)
    owner_routes: dict[str, tuple[str, str | None]] = {}

    def email(self, role: str) -> str:
        return getattr(self, role)

    def owner(self, ref: str) -> tuple[str, str | None]:
        """Where a notification to a pipeline owner goes: (recipient e-mail, Slack channel or None)."""
        return self.owner_routes.get(ref, (ref, None))


def load_alerting_settings(path: Path | None = None) -> AlertingSettings:
    return load_model(AlertingSettings, path or config_dir() / "alerting.yaml")


def load_roles(path: Path | None = None) -> Roles:
    """The escalation roles, read from the one parse of team.yaml (TeamConfig)."""
    return roles_of(load_team_config(path))


def roles_of(team: TeamConfig) -> Roles:
    """The escalation roles of a parsed team.yaml."""
    names = ("platform_lead", "engineering_manager", "finance_lead")
    routes = {ref: tuple(r) for ref, r in owner_routes(team).items()}
    return Roles(**{name: team.roles[name].email for name in names}, owner_routes=routes)


@cache
def alerting_settings() -> AlertingSettings:
    return load_alerting_settings()


@cache
def team_roles() -> Roles:
    return load_roles()
