"""Bad pipeline config is refused at load with a message naming the key and the pipeline."""

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


def test_unknown_pipeline_id_is_named(tmp_path):
    data = _copy()
    data["pipelines"]["profit_total"] = data["pipelines"]["profit_agg"]
    with pytest.raises(ConfigError, match="unknown pipeline id.*profit_total"):
        load_pipeline_config(_write(tmp_path, data))


def test_missing_pipeline_is_named(tmp_path):
    data = _copy()
    del data["pipelines"]["growth_daily"]
    with pytest.raises(ConfigError, match="growth_daily.*missing"):
        load_pipeline_config(_write(tmp_path, data))


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
