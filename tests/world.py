"""Build a small generated warehouse through the real Dagster job (raw -> dbt -> checks -> publish)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

SF = 0.02
HISTORY_START = date(2025, 1, 1)


@dataclass
class World:
    path: Path
    start: date
    end: date  # inclusive
    instance: dg.DagsterInstance
    success: bool


def range_tags(start: date, end_inclusive: date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end_inclusive.isoformat(),
    }


def use_warehouse(path: Path) -> None:
    """Point this process (and the dbt subprocesses it starts) at `path`."""
    os.environ["METRICS_DUCKDB_PATH"] = str(path)


def definitions(path: Path, scale_factor: float = SF) -> dg.Definitions:
    from metrics_assets.definitions import build_definitions, build_resources
    from resources.warehouse import Warehouse

    use_warehouse(path)
    resources = build_resources(Warehouse(backend="duckdb", duckdb_path=str(path)))
    base = resources["raw_source"]
    resources["raw_source"] = type(base)(
        scale_factor=scale_factor, seed=base.seed, launch_date=base.launch_date
    )
    return build_definitions(resources)


def run_range(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: date,
    end: date,
    selection=None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("all_pipelines")
    return job.execute_in_process(
        instance=instance,
        tags={**range_tags(start, end), **(tags or {})},
        asset_selection=selection,
        raise_on_error=False,
    )


def build_world(
    path: Path, start: date, end: date, instance: dg.DagsterInstance, scale_factor: float = SF
) -> World:
    from metrics_assets.cli.up import HISTORY_SOURCES
    from metrics_assets.ingest.raw_assets import raw_key

    defs = definitions(path, scale_factor)
    if start > HISTORY_START:
        hist = run_range(
            defs,
            instance,
            HISTORY_START,
            date.fromordinal(start.toordinal() - 1),
            selection=[raw_key(s) for s in HISTORY_SOURCES],
        )
        assert hist.success, "history load failed"
    res = run_range(defs, instance, start, end)
    return World(path=path, start=start, end=end, instance=instance, success=res.success)


def copy_world(world: World, dest: Path) -> Path:
    shutil.copyfile(world.path, dest)
    return dest
