"""What a pipeline's declaration puts on each of its assets, stamped once on the assembled
definitions (as dagster-open-platform does with `map_resolved_asset_specs`).

An asset belongs to a pipeline by its `pipeline` tag, which the dbt translator (from the model's
`meta.pipeline`) and the publish assets (from `publication.tables`) set. Everything that follows
from the pipeline is set here and nowhere else: group, owners, audience and domain tags, the
runbook link, the metric definitions version, and the freshness policy of its SLA.

Which SLA shape an asset's freshness policy follows (config/pipelines.yaml `sla`):
- month and quarter grains: `monthly` when the pipeline declares it;
- every other asset: the pipeline's stated delivery promise, `within_hours` (a time window), else
  `weekly`, else `daily`. A pipeline that states a weekly or within-N-hours SLA and also a `daily`
  deadline (required by daily investor tables) keeps the daily one for the investor freshness SLO
  and the SLA-at-risk alert, which count from it; the asset's Dagster policy shows the stated promise;
- with none of those, the first shape declared.

Owners go to Dagster as written in pipelines.yaml: a person as an e-mail, a team as `team:<id>`
(Dagster's native team owner).
"""

import dagster as dg

from metrics_assets.orchestration.freshness import freshness_policy_for
from metrics_core.config import PipelineConfig, Sla


def sla_of(sla: Sla, grain_period: str | None) -> str:
    """The SLA shape an asset of this grain follows (the rule is in the module docstring)."""
    return sla.shape_for(grain_period)


def pipeline_stamp(cfg: PipelineConfig):
    """The AssetSpec -> AssetSpec function for `Definitions.map_resolved_asset_specs`."""

    def stamp(spec: dg.AssetSpec) -> dg.AssetSpec:
        pid = spec.tags.get("pipeline")
        if pid is None:  # raw sources and platform assets belong to no single pipeline
            return spec
        pipeline = cfg.get(pid)
        grain = spec.metadata.get("grain_period")
        sla = sla_of(pipeline.sla, getattr(grain, "value", grain))
        return spec.replace_attributes(
            group_name=pid,
            owners=[pipeline.owners.primary, pipeline.owners.secondary],
            tags={**spec.tags, "audience": pipeline.audience.value, "domain": pipeline.domain},
            metadata={
                **spec.metadata,
                "pipeline": pid,
                "audience": pipeline.audience.value,
                "runbook": dg.MetadataValue.url(cfg.runbook_url(pid)),
                "metric_definitions_version": cfg.metric_definitions_version,
                "owners_primary": pipeline.owners.primary,
                "owners_secondary": pipeline.owners.secondary,
            },
            freshness_policy=freshness_policy_for(pipeline, sla),
        )

    return stamp
