"""dbt exposures of the investor dashboards, derived from config/pipelines.yaml.

Each investor pipeline's published tables feed the investor dashboards of a BI tool; dbt records
that as an exposure (lineage in dbt docs, `dbt ls --select +exposure:...`). The owner, the models
and the description come from the pipeline's declaration, so the committed YAML is an output:
`tests/test_dbt_structural.py` fails when it differs from what this module renders.

Regenerate: `.venv/bin/python -m metrics_assets.transform.exposures`
"""

from __future__ import annotations

import yaml

from metrics_core.config import ConfigError, PipelineConfig, pipeline_config
from metrics_core.owners import team_id
from metrics_core.paths import DBT_PROJECT_DIR
from metrics_core.team import TeamConfig, team_config

PATH = DBT_PROJECT_DIR / "models" / "marts" / "exposures.yml"
HEADER = "# Generated from config/pipelines.yaml by metrics_assets/transform/exposures.py; do not edit.\n"


def exposures(pipelines: PipelineConfig, team: TeamConfig) -> dict:
    out = []
    for pid in pipelines.ids:
        p = pipelines.get(pid)
        if p.publication is None:
            continue
        tid = team_id(p.owners.primary)
        if tid in team.teams:  # a team owner: its name, reached at its escalation contact
            owner = {"name": team.teams[tid].name, "email": team.team_escalation(tid)}
        else:
            try:
                owner = {"name": team.person(p.owners.primary).name, "email": p.owners.primary}
            except ConfigError:
                owner = {"email": p.owners.primary}
        tables = p.publication.tables
        models = sorted({t.model for t in tables.values()})
        out.append({
            "name": f"investor_dashboard_{pid}",
            "label": f"Investor dashboard: {p.name}",
            "type": "dashboard",
            "maturity": "high",
            "description": (f"Investor KPIs read from the published tables "
                            f"{', '.join('investor.' + n for n in sorted(tables))} (fail-closed "
                            f"publication of these models). Pipeline {pid}; runbook {p.runbook}."),
            "depends_on": [f"ref('{m}')" for m in models],
            "owner": owner,
            "meta": {"pipeline": pid, "secondary_owner": p.owners.secondary},
        })
    return {"version": 2, "exposures": out}


def render(pipelines: PipelineConfig, team: TeamConfig) -> str:
    return HEADER + yaml.safe_dump(exposures(pipelines, team), sort_keys=False, width=100)


if __name__ == "__main__":
    PATH.write_text(render(pipeline_config(), team_config()))
    print(f"wrote {PATH}")
