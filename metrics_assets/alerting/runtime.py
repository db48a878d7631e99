"""What the sensors and the CLI need to build an AlertEngine; every part is injectable.

The defaults read config, the operational store (SQLite, never the warehouse), the on-call
rotation lookup and the system clock. Tests replace the clock, lookup, calendar, store path and
environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from metrics_assets.alerting.clock import Clock, SystemClock
from metrics_assets.alerting.coverage import ConfigCalendar
from metrics_assets.alerting.engine import AlertEngine
from metrics_assets.oncall.lookup import OnCallLookup as RotationLookup  # type: ignore[import-not-found]
from metrics_core.alerting_model import OnCall, OnCallLookup, WorkCalendar
from metrics_core.alerting_settings import AlertingSettings, Roles, alerting_settings, team_roles
from metrics_core.config import ConfigError, PipelineConfig, pipeline_config
from metrics_core.paths import ops_store_path
from resources.channels import Dispatcher, OutboxChannel, build_dispatcher
from resources.incident_store import IncidentStore

log = logging.getLogger(__name__)


class RoleFallbackLookup:
    """Used only when the rotation lookup cannot load: pages the fallback role, loudly."""

    def __init__(self, email: str, why: str) -> None:
        self.email, self.why = email, why

    def who(self, at: datetime) -> OnCall:
        return OnCall(at=at, primary=self.email, backup=self.email, override_reason=f"fallback: {self.why}")


def default_lookup(roles: Roles, settings: AlertingSettings) -> OnCallLookup:
    try:

        return RotationLookup.from_config()
    except Exception as exc:  # a broken rotation must not silence alerts
        why = f"on-call lookup unavailable ({type(exc).__name__}: {exc})"
        log.error("%s; paging %s instead", why, settings.unmapped_asset_role)
        return RoleFallbackLookup(roles.email(settings.unmapped_asset_role), why)


@dataclass
class AlertRuntime:
    clock: Clock = field(default_factory=SystemClock)
    store_path: Callable[[], Path] = ops_store_path
    settings: Callable[[], AlertingSettings] = alerting_settings
    roles: Callable[[], Roles] = team_roles
    pipelines: Callable[[], PipelineConfig] = pipeline_config
    lookup: Callable[[Roles, AlertingSettings], OnCallLookup] = default_lookup
    calendar: Callable[[AlertingSettings], WorkCalendar] = lambda _settings: ConfigCalendar()
    env: Mapping[str, str] | None = None

    def _dispatcher(self, settings: AlertingSettings, store: IncidentStore) -> Dispatcher:
        try:
            return build_dispatcher(settings, store, env=os.environ if self.env is None else self.env)
        except ConfigError as exc:  # keep alerting alive on the outbox, and say why
            log.error("alert channels misconfigured, using the outbox only: %s", exc)
            return Dispatcher([OutboxChannel(store)])

    @contextmanager
    def engine(self) -> Iterator[AlertEngine]:
        settings, roles = self.settings(), self.roles()
        with IncidentStore.open(self.store_path()) as store:
            yield AlertEngine(
                store, self._dispatcher(settings, store), lookup=self.lookup(roles, settings),
                calendar=self.calendar(settings), settings=settings, roles=roles,
                pipelines=self.pipelines(), clock=self.clock,
            )
