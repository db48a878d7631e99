"""The investor dashboards as dbt exposures: derived from config/pipelines.yaml, parsed by dbt."""

from __future__ import annotations

import json

from metrics_assets.transform.exposures import PATH, exposures, render
from metrics_core.config import pipeline_config
from metrics_core.paths import DBT_PROJECT_DIR
from metrics_core.team import team_config


def test_committed_exposures_are_what_the_config_renders():
    assert PATH.read_text() == render(pipeline_config(), team_config()), (
        f"{PATH} is stale: regenerate with `.venv/bin/python -m metrics_assets.transform.exposures`")


def test_one_exposure_per_investor_pipeline_on_its_published_models():
    cfg = pipeline_config()
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    got = {e["name"]: (sorted(n.split(".")[-1] for n in e["depends_on"]["nodes"]), e["owner"]["email"])
           for e in manifest["exposures"].values()}
    want = {f"investor_dashboard_{pid}": (sorted({t.model for t in cfg.get(pid).publication.tables.values()}),
                                          cfg.get(pid).owners.primary)
            for pid in cfg.ids if cfg.get(pid).is_investor}
    assert got == want


def test_an_owner_change_moves_the_exposure_owner():
    cfg = pipeline_config()
    edited = cfg.model_copy(deep=True)
    p = edited.get("growth_agg")
    p.owners.primary = p.owners.secondary
    rendered = exposures(edited, team_config())["exposures"]
    (exp,) = [e for e in rendered if e["meta"]["pipeline"] == "growth_agg"]
    assert exp["owner"]["email"] == cfg.get("growth_agg").owners.secondary
    assert exp["owner"]["name"] == team_config().person(cfg.get("growth_agg").owners.secondary).name
