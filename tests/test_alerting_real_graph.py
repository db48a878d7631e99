"""Routing over the real asset graph (metrics_assets.definitions): every asset reaches a pipeline,
raw sources route to the pipelines that read them, and investor impact is detected."""

from __future__ import annotations

import dagster as dg

from metrics_assets.alerting import ALERT_SENSORS
from metrics_assets.alerting.routing import AssetRouter
from metrics_assets.config import pipeline_config
from metrics_assets.definitions import defs

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
    full = dg.Definitions.merge(defs, dg.Definitions(sensors=ALERT_SENSORS))
    dg.Definitions.validate_loadable(full)
    names = {s.name for s in full.get_repository_def().sensor_defs}
    assert {"alert_on_failed_runs", "alert_on_check_failures", "alert_on_freshness_failures",
            "escalate_open_incidents"} <= names
