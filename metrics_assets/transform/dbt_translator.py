"""Maps dbt nodes to Dagster assets: key, table name, grain, and the pipeline that owns the model.

Which pipeline owns a model is declared once, in config/pipelines.yaml `dbt_models`; dbt YAML keeps
only what is the model's own (its grain and window in `meta`). Owners, SLA and runbook are stamped
on the assembled definitions by metrics_assets/pipeline_policy.py.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from metrics_core.config import ConfigError, PipelineConfig, pipeline_config

LAYERS = ("staging", "intermediate", "marts")


def node_meta(props: Mapping[str, Any]) -> dict[str, Any]:
    return dict((props.get("config") or {}).get("meta") or props.get("meta") or {})


def layer_of(props: Mapping[str, Any]) -> str:
    fqn = props.get("fqn") or []
    return next((part for part in fqn if part in LAYERS), "other")


def _describe_test(test: Mapping[str, Any]) -> str:
    meta = test.get("test_metadata") or {}
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k != "model"}
    column = kwargs.pop("column_name", None)
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items() if not str(v).startswith("{{"))
    name = meta.get("name") or "singular test"
    return f"{name}" + (f" on column {column}" if column else "") + (f" ({args})" if args else "")


class MetricsDbtTranslator(DagsterDbtTranslator):
    def __init__(self, config: PipelineConfig | None = None):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._cfg = config or pipeline_config()

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckSpec | None:
        """dbt tests as checks that say what they test, how severe a failure is, and link the runbook."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = manifest["nodes"][unique_id]
        severity = str((test.get("config") or {}).get("severity") or "error").upper()
        pid = asset_spec.metadata.get("pipeline") or asset_spec.tags.get("pipeline")
        url = self._cfg.runbook_url(pid) if pid in self._cfg.pipelines else ""
        what = test.get("description") or _describe_test(test)
        return spec._replace(
            description=f"[{severity}] dbt test {test['name']}: {what}."
            + (f" Runbook: {url}" if url else ""),
            metadata={**(spec.metadata or {}), "severity": severity, "source": "dbt test",
                      **({"runbook": dg.MetadataValue.url(url), "pipeline": pid} if url else {})},
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        meta = node_meta(props)
        pid = self._cfg.pipeline_of_model(props["name"])
        if pid is None:
            raise ConfigError(
                f"dbt model {props['name']!r} is in no pipeline's `dbt_models` (config/pipelines.yaml); "
                "every model belongs to one pipeline"
            )
        metadata: dict[str, Any] = {
            "dagster/table_name": f"{props.get('schema')}.{props.get('alias') or props['name']}",
        }
        period = meta.get("grain_period")
        if meta.get("grain_date") and not period:
            metadata["partition_expr"] = meta["grain_date"]
        if period:
            metadata["grain_period"] = period
        # owners, SLA, runbook and the rest of the pipeline's policy: metrics_assets/pipeline_policy.py
        return spec.replace_attributes(
            group_name=pid,
            tags={**spec.tags, "pipeline": pid, "layer": layer_of(props)},
            metadata={**spec.metadata, **metadata},
        )
