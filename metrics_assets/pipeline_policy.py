"""What a pipeline's declaration puts on each of its assets, stamped once on the assembled
definitions (as dagster-open-platform does with `map_resolved_asset_specs`).

An asset belongs to a pipeline by its `pipeline` tag, which the dbt translator (from the model's
`meta.pipeline`) and the publish assets (from `publication.tables`) set. Everything that follows
from the pipeline is set here and nowhere else: group, owners, audience and domain tags, the
runbook link, the metric definitions version, and the freshness policy of its SLA (the monthly
SLA for month and quarter grains when the pipeline has one).
"""

import dagster as dg

from metrics_assets.orchestration.freshness import freshness_policy_for
from metrics_core.config import PipelineConfig


def sla_of(pipeline_has_monthly: bool, grain_period: str | None) -> str:
    """Month and quarter tables follow the pipeline's monthly SLA when it has one."""
    return "monthly" if grain_period and grain_period != "day" and pipeline_has_monthly else "daily"


def pipeline_stamp(cfg: PipelineConfig):
    """The AssetSpec -> AssetSpec function for `Definitions.map_resolved_asset_specs`."""

    def stamp(spec: dg.AssetSpec) -> dg.AssetSpec:
        pid = spec.tags.get("pipeline")
        if pid is None:  # raw sources and platform assets belong to no single pipeline
            return spec
        pipeline = cfg.get(pid)
        grain = spec.metadata.get("grain_period")
        sla = sla_of(pipeline.sla.monthly is not None, getattr(grain, "value", grain))
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
