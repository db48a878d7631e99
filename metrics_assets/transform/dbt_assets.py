"""The dbt project as daily-partitioned Dagster assets: a backfill range is ONE `dbt build`."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from metrics_assets.orchestration import run_log
from metrics_assets.orchestration.partitions import DAILY, SINGLE_RUN, days_in, window_of
from metrics_assets.publication.hook import log_stopped_publication
from metrics_assets.transform import dbt_parse_cache as parse_cache
from metrics_assets.transform.dbt_cli import dbt_executable
from metrics_assets.transform.dbt_translator import MetricsDbtTranslator, node_meta
from metrics_core.config import ConfigError, PipelineConfig
from metrics_core.dbt_chunks import MAX_WINDOW_ENV, max_window_days, window_chunks
from metrics_core.dbt_vars import dbt_rule_vars_json, dbt_window_env
from metrics_core.paths import DBT_PROJECT_DIR
from metrics_core.run_clock import incomplete_days, refusal_message, run_now
from resources.connections import backend_from_env
from resources.raw_source import missing_raw_tables
from resources.warehouse import POOL, Warehouse

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

DBT_PROJECT = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=backend_from_env(),
)


def parse_project(project: DbtProject) -> None:
    """`dbt parse` with this environment's dbt (`dbt_executable()`): dagster-dbt's preparer runs
    `dbt` from PATH, absent when the venv is not activated. Guarded like the preparer's, so the
    code server and dev run workers never read a half-written manifest."""
    cli = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
    run_with_concurrent_update_guard(
        project.manifest_path,
        lambda: cli.cli(["parse", "--quiet"], target_path=project.target_path).wait(),
    )


def manifest_is_stale(project_dir: Path, manifest: Path) -> bool:
    """True when the manifest is missing or older than a model, macro, test or project file."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "tests", "seeds", "snapshots"):
        files += [f for f in (project_dir / folder).rglob("*") if f.is_file()]
    return any(f.stat().st_mtime > built for f in files if f.exists())


def ensure_manifest(project: DbtProject = DBT_PROJECT) -> None:
    """Parse the dbt project when there is no manifest and, under `dagster dev` (dagster-dbt's
    `prepare_if_dev` condition), whenever a model or macro changed since the last parse, so an
    edited model is picked up on reload. Unlike `prepare_if_dev`, an unchanged project is not
    re-parsed: dev run workers inherit the dev flag and would each re-parse (and rewrite the
    manifest other runs are reading) for nothing."""
    dev = project.preparer.using_dagster_dev()
    if not project.manifest_path.exists() or (
        dev and manifest_is_stale(Path(project.project_dir), project.manifest_path)
    ):
        parse_project(project)


ensure_manifest()


def validate_dbt_models(cfg: PipelineConfig, manifest_path: Path = DBT_PROJECT.manifest_path) -> None:
    """Each pipeline's `dbt_models` must name models of the dbt project (the translator refuses
    the other direction: a model no pipeline claims)."""
    manifest = json.loads(manifest_path.read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for pid, p in cfg.pipelines.items():
        key = f"config/pipelines.yaml pipelines.{pid}"
        unknown = sorted(set(p.dbt_models) - set(models))
        if unknown:
            raise ConfigError(
                f"{key}.dbt_models: {unknown} are not models of the dbt project ({DBT_PROJECT.project_dir})"
            )
        reads = set().union(*(raw_sources_read(manifest, models[m]["unique_id"]) for m in p.dbt_models))
        if reads != set(p.raw_sources):
            raise ConfigError(
                f"{key}.raw_sources: {sorted(p.raw_sources)}, but its dbt models read {sorted(reads)}"
            )


def raw_sources_read(manifest: dict, unique_id: str) -> set[str]:
    """The raw tables a dbt node reads, directly or through the models it refs."""
    out: set[str] = set()
    for dep in manifest["nodes"][unique_id]["depends_on"]["nodes"]:
        if dep.startswith("source."):
            out.add(manifest["sources"][dep]["name"])
        elif dep in manifest["nodes"]:
            out |= raw_sources_read(manifest, dep)
    return out


def build_dbt_assets(pipelines: PipelineConfig) -> dg.AssetsDefinition:
    """The dbt project as one asset per model, grouped by the pipeline that declares each model."""

    @dbt_assets(
        pool=POOL,
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=MetricsDbtTranslator(pipelines),
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
    )
    def metrics_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        start, end = window_of(context)
        now = run_now(context)  # no day that is not over yet at the run clock is built
        if incomplete_days(days_in(start, end), now):
            raise dg.Failure(description=refusal_message("dbt build", days_in(start, end), now))
        with warehouse.connect() as con:
            missing = missing_raw_tables(con)
        if missing:
            raise dg.Failure(
                description=f"raw table(s) {', '.join(missing)} missing from the warehouse; "
                "materialize the raw assets for this window first (or check the loader in production)",
                metadata={"missing_tables": ", ".join(missing)},
            )
        started = datetime.now(UTC).replace(tzinfo=None)
        # A failing dbt *test* must not end the step: it is reported as a (blocking) asset check,
        # dbt skips the models below it, and the runbook checks on the marts still run and name the
        # failure mode. A failing *model* is an error of the run.
        # The dbt subprocess opens the file itself: this step holds the warehouse lock for it.
        if warehouse.backend == "duckdb":  # dbt's profile reads the file from this variable
            os.environ["METRICS_DUCKDB_PATH"] = warehouse.path
        project_target = Path(DBT_PROJECT.project_dir) / DBT_PROJECT.target_path
        target = parse_cache.run_target(project_target, context.op_execution_context.op.name, context.run_id)
        parse_cache.seed(target, project_target, warehouse.identity)
        chunks = window_chunks(start, end, max_window_days())

        def invoke(command: str, lo, hi):
            # the window goes in dbt's environment, the rule vars (the same every run) in --vars: dbt
            # then keeps its partial parse from the run before (macros/window.sql, window_bound)
            with _environ(dbt_window_env(lo, hi)):  # dagster-dbt copies os.environ at start
                return dbt.cli(
                    [command, "--vars", dbt_rule_vars_json()], context=context, raise_on_error=False,
                    target_path=target,
                )

        with warehouse.hold(f"dbt build {start}..{end}"):
            if len(chunks) == 1:
                invocation = invoke("build", start, end)
                yield from invocation.stream()
                broken = failed_models(invocation.get_artifact("run_results.json"))
            else:
                # a long window, a chunk per `dbt run`, oldest first (metrics_core/dbt_chunks.py); the
                # last chunk's run reports the models, one `dbt test` of the whole window their tests.
                # Unlike one `dbt build`, a failing test does not stop the models below it from being
                # built; the blocking check still stops their publication.
                for i, (lo, hi) in enumerate(chunks, 1):
                    context.log.info(f"dbt run {lo}..{hi} (exclusive), chunk {i} of {len(chunks)}: "
                                     f"{MAX_WINDOW_ENV}={max_window_days()}")
                    invocation = invoke("run", lo, hi)
                    if i < len(chunks):
                        invocation.wait()
                    else:
                        yield from invocation.stream()
                    broken = failed_models(invocation.get_artifact("run_results.json"))
                    if broken:
                        break
                if not broken:
                    yield from invoke("test", start, end).stream()
            _record_fingerprints(context, warehouse, start, end, started)
        not_kept = parse_cache.keep(target, project_target, warehouse.identity)
        if not_kept:
            context.log.warning(f"dbt's parse not kept for the next run (it will parse in full): {not_kept}")
        if broken:
            raise dg.Failure(
                description=f"dbt model(s) failed: {', '.join(broken)}; see the dbt output above",
                metadata={"failed_models": ", ".join(broken)},
            )

    # a failed dbt step (a failing model or blocking dbt test) skips every investor step: log their refusal
    return metrics_dbt_models.with_hooks({log_stopped_publication})


@contextmanager
def _environ(updates: dict[str, str]) -> Iterator[None]:
    """`updates` in os.environ for the block only: a run's window must not outlive its step in a
    process that runs more steps (the in-process executor, tests)."""
    before = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def failed_models(run_results: dict) -> list[str]:
    """Models (not tests) that errored in a dbt invocation."""
    return sorted(
        r["unique_id"].split(".")[-1]
        for r in run_results.get("results", [])
        if r["unique_id"].startswith("model.") and r["status"] == "error"
    )


def _record_fingerprints(
    context: dg.AssetExecutionContext, warehouse: Warehouse, start, end, started
) -> None:
    """Rows and checksum of each built table for the window, into ops.asset_runs.

    Views are skipped: they store nothing, and checksumming one re-evaluates its whole query
    (the events window view at SF 1 x 90 days: ~160 s and ~19 GB of DuckDB memory)."""
    nodes = json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"]
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    fingerprints = []
    with warehouse.session("dbt fingerprints"), warehouse.connect() as con:  # one connection for all
        for node in nodes.values():
            if node["resource_type"] != "model" or node["name"] not in selected:
                continue
            if node["config"].get("materialized") == "view":
                continue
            meta = node_meta(node)
            table = f"{node['schema']}.{node.get('alias') or node['name']}"
            try:
                # month/quarter tables: fingerprint the whole (small) table
                date_expr = None if meta.get("grain_period") else meta.get("grain_date")
                fp = run_log.fingerprint(con, table, date_expr, start, end, warehouse.backend)
            except Exception as exc:  # a model skipped by a failed upstream test has no table
                context.log.warning(f"no fingerprint for {table}: {exc}")
                continue
            fingerprints.append((node["name"], fp))
        for name, fp in fingerprints:
            run_log.record(warehouse, context.run_id, name, start, end, started, fp)
