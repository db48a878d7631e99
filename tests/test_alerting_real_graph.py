"""Routing over the real asset graph (metrics_assets.definitions): every asset reaches a pipeline,
raw sources route to the pipelines that read them, and investor impact is detected."""

from __future__ import annotations

import dagster as dg

from metrics_assets.alerting.routing import AssetRouter
from metrics_assets.alerting.sensors import build_alert_sensors
from metrics_assets.definitions import build_definitions
from metrics_assets.oncall.horizon import PLATFORM_PIPELINE
from metrics_core.config import pipeline_config

defs = build_definitions()
GRAPH = defs.resolve_asset_graph()
ROUTER = AssetRouter(GRAPH, pipeline_config())


def test_every_asset_routes_to_a_pipeline():
    """Platform assets (group `ops`, e.g. the on-call schedule) belong to no pipeline: their failures go
    to the platform lead. Everything else must be claimed by a pipeline."""
    unmapped = [k for k in ROUTER.unmapped() if GRAPH.get(k).group_name != "ops"]
    assert unmapped == [], "assets no pipeline claims (tag them or give them a tagged consumer)"
    assert {GRAPH.get(k).group_name for k in ROUTER.unmapped()} <= {"ops"}


def test_raw_sources_route_to_their_consuming_pipelines():
    raw = [k for k in GRAPH.get_all_asset_keys() if k.path[0] == "raw"]
    assert raw
    for key in raw:
        routes = ROUTER.routes(key)
        assert routes, key
        assert all(GRAPH.get(key).tags.get("pipeline") is None for _ in routes)


def test_investor_pipeline_assets_and_their_upstreams():
    for key in GRAPH.get_all_asset_keys():
        pid = GRAPH.get(key).tags.get("pipeline")
        if pid is None:
            continue
        (route,) = ROUTER.routes(key)
        assert route.pipeline == pid
        downstream_investor = any(
            GRAPH.get(d).tags.get("audience") == "investor" for d in _descendants(key))
        assert route.feeds_investor == downstream_investor


def _descendants(key):
    seen, todo = set(), [key]
    while todo:
        for c in GRAPH.get(todo.pop()).child_keys:
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def test_alert_sensors_load_with_the_real_definitions():
    dg.Definitions.validate_loadable(defs)
    names = {s.name for s in defs.get_repository_def().sensor_defs}
    # every alert sensor, and besides them only the dashboards' rebuild sensor
    assert names - {s.name for s in build_alert_sensors()} == {"rebuild_dashboards_after_runs"}
    assert {s.name for s in build_alert_sensors()} <= names
    assert {"alert_on_failed_runs", "alert_on_check_failures", "alert_on_freshness_failures",
            "escalate_open_incidents"} <= names


def _meta(spec, key: str):
    value = spec.metadata.get(key)
    return getattr(value, "value", value)


def test_every_check_routes_to_the_pipeline_it_is_declared_for():
    """One rule, over every check of the definitions: a check's failure goes to the pipeline its
    metadata declares, whose runbook it links. Before, 18 checks declared profit_agg (they gate
    investor profit and link profit_agg.md) but paged profit_unit, the nearest tagged reader of
    their asset (e.g. raw/orders:source_contract, fct_order_profit:cost_coverage_per_region)."""
    pipelines = pipeline_config().pipelines
    keys = sorted(GRAPH.asset_check_keys, key=lambda k: k.to_user_string())
    assert len(keys) > 100
    differs_from_asset = 0
    for key in keys:
        spec = GRAPH.get_check_spec(key)
        declared = _meta(spec, "pipeline")
        (route,) = ROUTER.routes(key)
        assert route.pipeline == declared, key.to_user_string()
        if declared == PLATFORM_PIPELINE:  # the rotation's horizon check: the platform lead's
            assert "/runbooks/oncall.md#" in _meta(spec, "runbook") and not route.feeds_investor
            continue
        assert declared in pipelines, f"{key.to_user_string()}: no pipeline declared"
        assert f"/runbooks/{declared}.md" in _meta(spec, "runbook"), key.to_user_string()
        if pipelines[declared].is_investor:
            assert route.feeds_investor, key.to_user_string()
        differs_from_asset += [r.pipeline for r in ROUTER.routes(key.asset_key)] != [declared]
    assert differs_from_asset  # the rule is exercised: some checks declare another pipeline
