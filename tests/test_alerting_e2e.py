"""End to end on the real asset graph: inject a fault, materialize, tick the sensors; the on-call
Primary of that moment is paged once; an ack from the CLI stops escalation; fixing the source and
re-running resolves the incident.

The fault: the raw source is misconfigured (RawSource mode="offline"), so raw/orders fails.
raw/orders has no pipeline tag, so the page proves graph routing (-> profit_unit,
which feeds investor assets -> sev1, paged 24x7).
"""

from __future__ import annotations

import argparse
from datetime import date

import dagster as dg

from metrics_assets.alerting.model import Status
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_assets.alerting.sensors import build_alert_sensors
from metrics_assets.cli_incidents import register
from metrics_assets.oncall.lookup import OnCallLookup
from resources.incident_store import IncidentStore
from resources.raw_source import RawSource
from tests.fakes.alert_defs import OffsetClock
from tests.world import definitions

DAY = date(2025, 3, 3)


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _materialize(defs: dg.Definitions, instance, mode: str) -> dg.ExecuteInProcessResult:
    resources = dict(defs.resources)
    # a ConfigurableResource keeps its config separately: build a new one rather than model_copy
    resources["raw_source"] = RawSource(**{**resources["raw_source"].model_dump(), "mode": mode})
    patched = dg.Definitions(assets=defs.assets, resources=resources, executor=dg.in_process_executor,
                             jobs=[dg.define_asset_job("e2e", selection="raw/orders")])
    return patched.resolve_job_def("e2e").execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), raise_on_error=False)


def test_fault_page_ack_fix_resolve(tmp_path):
    db = tmp_path / "w.duckdb"
    defs = definitions(db)
    full = dg.Definitions.merge(defs, dg.Definitions(sensors=[]))
    repo = full.get_repository_def()
    clock = OffsetClock()
    rotation = OnCallLookup.from_config()
    runtime = AlertRuntime(clock=clock, db_path=lambda: db, env={})  # real rotation + team calendar
    sensors = {s.name: s for s in build_alert_sensors(runtime)}
    instance = dg.DagsterInstance.ephemeral()
    cursors: dict[str, str | None] = {}

    def tick_all() -> None:
        for name, sensor in sensors.items():
            ctx = dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursors.get(name))
            sensor(ctx)
            cursors[name] = ctx.cursor

    tick_all()
    assert not _materialize(defs, instance, mode="offline").success  # the fault
    tick_all()
    tick_all()
    with IncidentStore.open(db) as store:
        (inc,) = store.list()
        pages = [e for e in store.events(inc.id) if e.event == "page"]
    assert (inc.pipeline, inc.severity, inc.subjects) == ("profit_unit", "sev1", ["raw/orders"])
    assert inc.partition == DAY.isoformat()
    on_call = rotation.who(inc.opened_at).primary  # the Primary of that moment, from the real rotation
    assert [(p.level, p.recipient) for p in pages] == [("primary_oncall", on_call)]
    assert pages[0].channel == "outbox"

    assert _cli(["incidents", "ack", inc.id, "--by", pages[0].recipient, "--db", str(db)]) == 0
    clock.advance(minutes=45)  # past backup, IC and platform-lead times
    tick_all()
    with IncidentStore.open(db) as store:
        assert [e.event for e in store.events(inc.id) if e.event == "page"] == ["page"]
        assert store.get(inc.id).status is Status.ACKED

    assert _materialize(defs, instance, mode="synthetic").success  # the fix + re-run
    tick_all()
    with IncidentStore.open(db) as store:
        done = store.get(inc.id)
        events = [e.event for e in store.events(inc.id)]
    assert done.status is Status.RESOLVED
    assert events == ["opened", "page", "ack", "resolve"]
