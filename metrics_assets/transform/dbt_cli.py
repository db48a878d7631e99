"""The dbt CLI resource the runs use: dagster-dbt's, without two fixed costs per run process.

Every run is a new process, and dagster-dbt's `DbtCliResource` pays in each one (a) `dbt --version`
in a subprocess (~3 s of imports here) to learn the dbt version, and (b) an in-process dbt adapter
handle (~2-15 s: dbt imports, profile, macros), used only to fetch row counts or column metadata
for the events, which the dbt asset never asks for (`invocation.stream()`). The dbt it starts is
this environment's (bin/dbt-child execs METRICS_DBT_BIN, set by `dbt_executable`), so the version
is dbt-core's package version, read without starting anything.
"""

import functools
import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

DBT_CHILD = Path(__file__).parent / "bin" / "dbt-child"


def dbt_executable() -> str:
    """dbt from the same environment as this interpreter (even when the venv is not activated),
    started through bin/dbt-child so that it dies with the step that started it."""
    local = Path(sys.executable).parent / "dbt"
    os.environ["METRICS_DBT_BIN"] = str(local) if local.exists() else (shutil.which("dbt") or "dbt")
    return str(DBT_CHILD)


@functools.cache
def _dbt_version(executable: str) -> version.Version:
    if Path(os.environ.get("METRICS_DBT_BIN", "")).parent == Path(sys.executable).parent:
        return version.parse(importlib.metadata.version("dbt-core"))
    return DbtCliResource(project_dir=".", dbt_executable=executable)._cli_version  # another dbt: ask it


class MetricsDbtCli(DbtCliResource):
    """`DbtCliResource` that reads the dbt version from the package and opens no adapter handle."""

    @property
    def _cli_version(self) -> version.Version:  # type: ignore[override]
        return _dbt_version(self.dbt_executable)

    def _initialize_dbt_core_adapter(self, args):  # type: ignore[override]
        return None
