"""End to end on the real asset graph: inject a fault, materialize, tick the sensors; the on-call
Primary of that moment is paged once; an ack from the CLI stops escalation; fixing the source and
re-running resolves the incident.

The fault: the raw source is misconfigured (RawSource mode="offline"), so raw/orders fails.
raw/orders has no pipeline tag, so the page proves graph routing (-> profit_unit,
which feeds investor assets -> sev1, paged 24x7).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster._core.test_utils import freeze_time

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_assets.alerting.sensors import build_alert_sensors
from metrics_assets.cli import build_parser
from metrics_assets.generator.landing import SyntheticRawSource
from metrics_assets.oncall.lookup import OnCallLookup
from metrics_core.alerting_model import FailureKind, Status
from resources.incident_store import IncidentStore
from resources.raw_source import RawSource
from tests.world import definitions

DAY = date(2025, 3, 3)
# Every instant is pinned (Dagster's event timestamps too): who is on call, and so who is paged,
# must not depend on the week the suite runs in. Wednesday 10:00 IST, inside business hours.
PINNED = datetime(2026, 3, 4, 4, 30, tzinfo=UTC)


def _cli(argv: list[str]) -> int:
    args = build_parser(argv[0]).parse_args(argv)
    return args.func(args)


def _materialize(defs: dg.Definitions, instance, mode: str) -> dg.ExecuteInProcessResult:
    resources = dict(defs.resources)
    # a ConfigurableResource keeps its config separately: build a new one rather than model_copy
    synthetic = resources["raw_source"]
    resources["raw_source"] = (
        SyntheticRawSource(**synthetic.model_dump()) if mode == "synthetic" else RawSource()
    )
    patched = dg.Definitions(assets=defs.assets, resources=resources, executor=dg.in_process_executor,
                             jobs=[dg.define_asset_job("e2e", selection="raw/orders")])
    return patched.resolve_job_def("e2e").execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), raise_on_error=False)


def test_fault_page_ack_fix_resolve(tmp_path):
    db = tmp_path / "ops.sqlite"  # the operational store; the warehouse is its own file
    defs = definitions(tmp_path / "w.duckdb")
    full = dg.Definitions.merge(defs, dg.Definitions(sensors=[]))
    repo = full.get_repository_def()
    clock = FakeClock(PINNED)
    rotation = OnCallLookup.from_config()
    runtime = AlertRuntime(clock=clock, store_path=lambda: db, env={})  # real rotation + team calendar
    sensors = {s.name: s for s in build_alert_sensors(runtime)}
    instance = dg.DagsterInstance.ephemeral()
    cursors: dict[str, str | None] = {}

    def tick_all() -> None:
        for name, sensor in sensors.items():
            ctx = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursors.get(name))
            sensor(ctx)
            cursors[name] = ctx.cursor

    with freeze_time(PINNED):
        tick_all()
        assert not _materialize(defs, instance, mode="offline").success  # the fault
        tick_all()
        tick_all()
    with IncidentStore.open(db) as store:
        # the fault's incident (the day is also unpublished 30 min before its deadline: sla_at_risk)
        (inc,) = [i for i in store.list() if i.kind is not FailureKind.SLA_AT_RISK]
        assert {i.partition for i in store.list() if i.kind is FailureKind.SLA_AT_RISK}
        pages = [e for e in store.events(inc.id) if e.event == "page"]
    assert (inc.pipeline, inc.severity, inc.subjects) == ("profit_unit", "sev1", ["raw/orders"])
    assert inc.partition == DAY.isoformat()
    on_call = rotation.who(inc.opened_at).primary  # the Primary of that moment, from the real rotation
    assert [(p.level, p.recipient) for p in pages] == [("primary_oncall", on_call)]
    assert pages[0].channel == "outbox"

    acked_at = (PINNED + timedelta(minutes=5)).isoformat()
    assert _cli(["incidents", "ack", inc.id, "--by", pages[0].recipient, "--at", acked_at,
                 "--store", str(db)]) == 0
    clock.set(PINNED + timedelta(minutes=45))  # past backup, IC and platform-lead times
    with freeze_time(clock.now()):
        tick_all()
    with IncidentStore.open(db) as store:
        assert [e.event for e in store.events(inc.id) if e.event == "page"] == ["page"]
        assert store.get(inc.id).status is Status.ACKED

    clock.set(PINNED + timedelta(minutes=60))
    with freeze_time(clock.now()):
        assert _materialize(defs, instance, mode="synthetic").success  # the fix + re-run
        tick_all()
    with IncidentStore.open(db) as store:
        done = store.get(inc.id)
        events = [e.event for e in store.events(inc.id)]
    assert done.status is Status.RESOLVED
    assert events == ["opened", "page", "ack", "resolve"]
