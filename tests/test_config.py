"""Bad pipeline config is refused at load with a message naming the key and the pipeline."""

import copy
from pathlib import Path

import pytest
import yaml

from metrics_core.config import ConfigError, load_pipeline_config
from metrics_core.paths import PROJECT_ROOT

GOOD = yaml.safe_load((PROJECT_ROOT / "config" / "pipelines.yaml").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _copy() -> dict:
    return yaml.safe_load(yaml.safe_dump(GOOD))


def test_default_config_loads():
    cfg = load_pipeline_config()
    assert set(cfg.pipelines) == {"profit_unit", "profit_agg", "growth_agg", "growth_daily", "engagement_agg"}
    assert cfg.get("profit_agg").is_investor and not cfg.get("profit_unit").is_investor
    assert cfg.get("growth_agg").runbook == "runbooks/growth_agg.md"


def test_a_model_or_table_declared_by_two_pipelines_is_refused(tmp_path):
    data = _copy()
    data["pipelines"]["profit_total"] = copy.deepcopy(data["pipelines"]["profit_agg"])
    twice = "dbt model 'agg_profit_daily' is declared by both profit_agg and profit_total"
    with pytest.raises(ConfigError, match=twice):
        load_pipeline_config(_write(tmp_path, data))
    data["pipelines"]["profit_total"]["dbt_models"] = ["agg_profit_total"]
    data["pipelines"]["profit_total"]["publication"]["tables"] = {
        "profit_daily": {"model": "agg_profit_total", "day_column": "order_date"}}
    with pytest.raises(ConfigError, match="investor table 'profit_daily' is declared by both"):
        load_pipeline_config(_write(tmp_path, data))


def test_publication_follows_the_audience_and_the_models(tmp_path):
    data = _copy()
    data["pipelines"]["growth_daily"]["publication"] = data["pipelines"]["growth_agg"]["publication"]
    with pytest.raises(ConfigError, match=r"pipelines.growth_daily:.*experiment pipeline publishes nothing"):
        load_pipeline_config(_write(tmp_path, data))
    data = _copy()
    del data["pipelines"]["growth_agg"]["publication"]
    with pytest.raises(ConfigError, match=r"growth_agg:.*investor pipeline needs `publication.tables`"):
        load_pipeline_config(_write(tmp_path, data))
    data = _copy()
    data["pipelines"]["growth_agg"]["dbt_models"].remove("agg_growth_monthly")
    with pytest.raises(ConfigError, match="growth_monthly.model 'agg_growth_monthly' is not in this"):
        load_pipeline_config(_write(tmp_path, data))


def test_unknown_raw_source_and_feed_are_named(tmp_path):
    data = _copy()
    data["pipelines"]["growth_agg"]["raw_sources"].append("signups")
    data["pipelines"]["engagement_agg"]["publication"]["complete_when"][0]["column"] = "arrived_at"
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(_write(tmp_path, data))
    msg = str(err.value)
    assert "pipelines.growth_agg.raw_sources" in msg and "['signups'] are not raw sources" in msg
    assert "pipelines.engagement_agg.publication.complete_when.0" in msg and "'arrived_at'" in msg


def test_malformed_owner_names_pipeline_and_key(tmp_path):
    data = _copy()
    data["pipelines"]["engagement_agg"]["owners"]["primary"] = "Priya Rao"
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(_write(tmp_path, data))
    assert "pipelines.engagement_agg.owners.primary" in str(err.value)
    assert "'Priya Rao' is not an e-mail address" in str(err.value)


def test_same_primary_and_secondary_refused(tmp_path):
    data = _copy()
    owners = data["pipelines"]["growth_agg"]["owners"]
    owners["secondary"] = owners["primary"]
    with pytest.raises(ConfigError, match="pipelines.growth_agg.owners.*must differ"):
        load_pipeline_config(_write(tmp_path, data))


def test_bad_cron_and_unknown_key(tmp_path):
    data = _copy()
    data["pipelines"]["profit_agg"]["sla"]["daily"]["deadline_cron"] = "at eight"
    data["pipelines"]["profit_agg"]["sla_minutes"] = 5
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(_write(tmp_path, data))
    msg = str(err.value)
    assert "pipelines.profit_agg.sla.daily.deadline_cron" in msg
    assert "pipelines.profit_agg.sla_minutes" in msg


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_pipeline_config(tmp_path / "nope.yaml")
