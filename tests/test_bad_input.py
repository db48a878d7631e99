"""Bad input stops with a message naming the table, the model or the config key."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import duckdb
import pytest

from metrics_assets.transform.dbt_assets import DBT_PROJECT, validate_dbt_models
from metrics_assets.transform.dbt_translator import MetricsDbtTranslator
from metrics_core.config import ConfigError, pipeline_config
from tests.world import copy_world, definitions, run_range

MANIFEST = json.loads(DBT_PROJECT.manifest_path.read_text())


def _model_uid(name: str) -> str:
    return next(
        uid for uid, n in MANIFEST["nodes"].items() if n["resource_type"] == "model" and n["name"] == name
    )


def test_a_model_no_pipeline_claims_is_refused_naming_it():
    cfg = pipeline_config().model_copy(deep=True)
    cfg.get("engagement_agg").dbt_models.remove("fct_events")
    with pytest.raises(ConfigError, match=r"dbt model 'fct_events' is in no pipeline's `dbt_models`"):
        MetricsDbtTranslator(cfg).get_asset_spec(MANIFEST, _model_uid("fct_events"), None)


def test_a_declared_model_the_dbt_project_lacks_is_refused_naming_the_key():
    cfg = pipeline_config().model_copy(deep=True)
    cfg.get("growth_agg").dbt_models.append("agg_growth_weekly")
    with pytest.raises(ConfigError, match=r"pipelines.growth_agg.dbt_models: \['agg_growth_weekly'\]"):
        validate_dbt_models(cfg)
    cfg = pipeline_config().model_copy(deep=True)
    cfg.get("growth_daily").raw_sources.remove("app_events")
    read = r"pipelines.growth_daily.raw_sources: .*its dbt models read .*'app_events'"
    with pytest.raises(ConfigError, match=read):
        validate_dbt_models(cfg)


def test_missing_raw_table_stops_the_run_naming_it(small_world, tmp_path):
    path = copy_world(small_world, tmp_path / "copy.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("drop table raw.orders")
        published_before = con.execute("select count(*) from investor.profit_daily").fetchone()[0]
    defs = definitions(path)
    not_raw = dg.AssetSelection.all() - dg.AssetSelection.groups("raw", "ops")
    day = date(2026, 9, 10)
    res = run_range(
        defs,
        dg.DagsterInstance.ephemeral(),
        day,
        day,
        selection=sorted(not_raw.resolve(defs.resolve_asset_graph()), key=str),
    )
    assert not res.success
    failures = [e for e in res.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    messages = " ".join(str(e.event_specific_data.error.message) for e in failures)
    assert "raw.orders" in messages, messages
    with duckdb.connect(str(path), read_only=True) as con:
        # nothing already published was lost or overwritten
        assert con.execute("select count(*) from investor.profit_daily").fetchone()[0] == published_before


def test_failed_models_are_named_tests_are_not():
    from metrics_assets.transform.dbt_assets import failed_models

    results = {
        "results": [
            {"unique_id": "model.metrics.fct_order_profit", "status": "error"},
            {"unique_id": "model.metrics.agg_profit_daily", "status": "skipped"},
            {"unique_id": "test.metrics.unique_fct_order_profit_order_id.abc", "status": "fail"},
            {"unique_id": "model.metrics.dim_users", "status": "success"},
        ]
    }
    assert failed_models(results) == ["fct_order_profit"]
