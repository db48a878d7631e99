"""Build an AlertEngine on a temporary operational store (SQLite) with the fake roster and calendar."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.alerting.engine import AlertEngine
from metrics_core.alerting_settings import AlertingSettings, load_alerting_settings, load_roles
from metrics_core.config import PipelineConfig, pipeline_config
from resources.channels import build_dispatcher
from resources.incident_store import IncidentStore
from tests.fakes.oncall import FakeCalendar, FakeLookup


@contextmanager
def engine_for_test(db: Path, clock: FakeClock, settings: AlertingSettings | None = None, env=None,
                    pipelines: PipelineConfig | None = None):
    settings = settings or load_alerting_settings()
    with IncidentStore.open(db) as store:
        yield AlertEngine(
            store, build_dispatcher(settings, store, env=env or {}), lookup=FakeLookup(),
            calendar=FakeCalendar(), settings=settings, roles=load_roles(),
            pipelines=pipelines or pipeline_config(), clock=clock,
        )
