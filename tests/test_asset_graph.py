"""Every fact and aggregate carries owners, a freshness policy, pipeline tags and a runbook link;
a snapshot of all specs makes any silent drop show up as a diff (UPDATE_SNAPSHOTS=1 to accept)."""

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from metrics_assets.definitions import build_definitions
from metrics_core.config import pipeline_config

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_specs.json"
defs = build_definitions()
GRAPH = defs.resolve_asset_graph()


def _pipeline_assets() -> list[dg.AssetKey]:
    """Everything a pipeline produces: all assets except the raw landing layer and ops tables."""
    return sorted(
        (k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).group_name not in ("raw", "ops")),
        key=lambda k: k.to_user_string(),
    )


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert len(_pipeline_assets()) >= 25


@pytest.mark.parametrize("key", _pipeline_assets(), ids=lambda k: k.to_user_string())
def test_fact_and_aggregate_carry_owners_sla_pipeline_runbook(key: dg.AssetKey):
    node = GRAPH.get(key)
    pid = node.tags.get("pipeline")
    assert pid in pipeline_config().pipelines, f"{key.to_user_string()} has no valid pipeline tag"
    p = pipeline_config().get(pid)
    assert list(node.owners) == [p.owners.primary, p.owners.secondary], f"{key.to_user_string()} owners"
    assert node.tags.get("audience") == p.audience.value
    assert node.group_name == pid
    assert isinstance(node.freshness_policy, dg.FreshnessPolicy), f"{key.to_user_string()} has no freshness"
    runbook = node.metadata.get("runbook")
    runbook = getattr(runbook, "url", runbook)  # a clickable URL in the UI, ending in the runbook's path
    assert runbook and "://" in str(runbook) and p.runbook in str(runbook), (
        f"{key.to_user_string()} runbook link {runbook!r}"
    )
    assert node.metadata.get("metric_definitions_version") == pipeline_config().metric_definitions_version


def test_investor_tables_follow_the_investor_sla():
    for key in _pipeline_assets():
        node = GRAPH.get(key)
        p = pipeline_config().get(node.tags["pipeline"])
        policy = node.freshness_policy
        period = node.metadata.get("grain_period")
        expected = p.sla.monthly if (period and p.sla.monthly) else p.sla.daily
        assert policy.deadline_cron == expected.deadline_cron, key.to_user_string()
        assert policy.lower_bound_delta == expected.lower_bound, key.to_user_string()


def _spec_snapshot() -> dict:
    out = {}
    for key in sorted(GRAPH.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = GRAPH.get(key)
        fp = node.freshness_policy
        out[key.to_user_string()] = {
            "group": node.group_name,
            "owners": list(node.owners),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind")},
            "kinds": sorted(node.kinds),
            "freshness": None if fp is None else {
                "deadline_cron": fp.deadline_cron,
                "lower_bound_minutes": fp.lower_bound_delta.total_seconds() / 60,
                "timezone": fp.timezone,
            },
            "checks": sorted(c.name for c in GRAPH.asset_check_keys if c.asset_key == key),
        }
    return out


def test_spec_snapshot():
    current = _spec_snapshot()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, "asset specs changed; review and re-run with UPDATE_SNAPSHOTS=1"


def test_one_edit_of_the_pipeline_config_moves_every_asset_of_it(tmp_path):
    """growth_agg's secondary owner and daily SLA changed in config/pipelines.yaml alone (a copy;
    engagement_agg's secondary moves too, since the balanced-load rule refuses any single
    change): every growth_agg asset (dbt models and investor tables) carries the new owners and
    freshness, because the pipeline policy is stamped once on the assembled definitions; its
    checks route to growth_agg, whose incident names the new secondary as commander; its runbook
    block names the new secondary and deadline."""
    import yaml

    from checks.registry import load_catalogue
    from metrics_assets.alerting.clock import FakeClock
    from metrics_assets.alerting.routing import AssetRouter
    from metrics_assets.runbooks import load_failure_modes, render_block
    from metrics_core.alerting_model import Failure, FailureKind
    from metrics_core.config import load_pipeline_config
    from metrics_core.team import team_config
    from tests.fakes.alerting import engine_for_test
    from tests.fakes.oncall import ist

    src = yaml.safe_load((Path(__file__).parents[1] / "config" / "pipelines.yaml").read_text())
    growth = src["pipelines"]["growth_agg"]
    assert growth["owners"]["secondary"] != "alex.mehta@metrics.example.com"
    growth["owners"]["secondary"] = "alex.mehta@metrics.example.com"
    src["pipelines"]["engagement_agg"]["owners"]["secondary"] = "samir.kapoor@metrics.example.com"
    growth["sla"]["daily"]["deadline_cron"] = "45 7 * * *"
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(src))
    edited = load_pipeline_config(path)
    new = build_definitions(pipelines=edited).resolve_asset_graph()
    keys = [k for k in new.get_all_asset_keys() if new.get(k).tags.get("pipeline") == "growth_agg"]
    assert {"agg_growth_daily", "investor/growth_daily"} <= {k.to_user_string() for k in keys}
    for key in keys:
        node = new.get(key)
        assert list(node.owners) == [growth["owners"]["primary"], "alex.mehta@metrics.example.com"], key
        assert node.metadata["owners_secondary"] == "alex.mehta@metrics.example.com"
        if node.metadata.get("grain_period") is None:
            assert node.freshness_policy.deadline_cron == "45 7 * * *", key
        assert GRAPH.get(key).freshness_policy.deadline_cron != "45 7 * * *"  # shipped SLA unchanged
    # checks and routing
    router = AssetRouter(new, edited)
    growth_checks = [c for c in load_catalogue(pipelines=edited).checks if c.pipeline == "growth_agg"]
    assert growth_checks
    for c in growth_checks:
        key = dg.AssetCheckKey(dg.AssetKey(c.asset_path), c.name)
        assert [r.pipeline for r in router.routes(key)] == ["growth_agg"], c.key
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock, pipelines=edited) as eng:
        (inc_id,) = eng.report([Failure(pipeline="growth_agg", kind=FailureKind.CHECK_ERROR,
                                        subject=growth_checks[0].key, at=ist("2026-03-07 02:00"))]).opened
        assert eng.store.get(inc_id).secondary_owner == "alex.mehta@metrics.example.com"
    # runbook
    block = render_block(edited.get("growth_agg"), edited, load_failure_modes(), team_config())
    assert "Alex Mehta" in block.split("Secondary owner", 1)[1].split("\n", 1)[0]
    assert "07:45" in block
