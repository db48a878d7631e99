"""config/alerting.yaml is validated at load; a bad file names the key."""

from __future__ import annotations

import pytest
import yaml

from metrics_core.alerting_settings import load_alerting_settings, load_roles
from metrics_core.config import ConfigError, config_dir


def _write(tmp_path, mutate):
    raw = yaml.safe_load((config_dir() / "alerting.yaml").read_text())
    mutate(raw)
    path = tmp_path / "alerting.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_committed_config_loads():
    s = load_alerting_settings()
    assert [st.after_minutes for st in s.severities["sev1"].ladder] == [0, 10, 15, 30]
    assert [b.after_minutes for b in s.severities["sev1"].business] == [120, 360]
    assert s.channels.enabled == ("outbox",)
    assert load_roles().platform_lead.endswith("@metrics.example.com")


@pytest.mark.parametrize("mutate, key", [
    (lambda r: r["severities"]["sev1"]["ladder"].reverse(), "severities.sev1"),
    (lambda r: r["severities"]["sev1"]["ladder"][1].update(level="boss"), "severities.sev1.ladder.1.level"),
    (lambda r: r["severities"].pop("notice"), "severities"),
    (lambda r: r["channels"].update(enabled=["outbox", "fax"]), "channels.enabled"),
    (lambda r: (r["channels"].update(enabled=["slack"]), r["channels"].pop("slack")), "channels.slack"),
])
def test_bad_config_is_refused_naming_the_key(tmp_path, mutate, key):
    with pytest.raises(ConfigError) as err:
        load_alerting_settings(_write(tmp_path, mutate))
    assert key in str(err.value)


@pytest.fixture
def config_copy(tmp_path, monkeypatch):
    """A copy of config/ the project reads (METRICS_CONFIG_DIR), with the per-process caches cleared."""
    import shutil

    from metrics_core import alerting_settings, config, team

    dst = tmp_path / "config"
    shutil.copytree(config_dir(), dst)
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(dst))
    caches = (team.team_config, config.pipeline_config, alerting_settings.alerting_settings)
    for c in caches:
        c.cache_clear()
    yield dst
    for c in caches:
        c.cache_clear()


@pytest.mark.parametrize("file, mutate, key", [
    ("team.yaml", lambda r: r["roles"]["platform_lead"].pop("email"), "roles.platform_lead.email"),
    ("team.yaml", lambda r: r.update(people="AM, PR"), "people"),
    ("alerting.yaml", lambda r: r["severities"]["sev1"]["ladder"][0].update(after_minutes=-5),
     "severities.sev1.ladder.0.after_minutes"),
])
def test_a_broken_alerting_config_stops_the_code_location(config_copy, file, mutate, key):
    """Before, a malformed team.yaml loaded and all four sensors then failed on every tick (nobody
    paged); now the definitions refuse to load, naming the file and the key."""
    from metrics_assets.definitions import build_definitions

    path = config_copy / file
    raw = yaml.safe_load(path.read_text())
    mutate(raw)
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        build_definitions(resources={})
    assert str(path) in str(err.value) and key in str(err.value)
