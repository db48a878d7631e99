"""Where the project keeps its files; every path can be moved by an environment variable."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    return Path(os.environ.get("METRICS_CONFIG_DIR", PROJECT_ROOT / "config"))


def data_dir() -> Path:
    return Path(os.environ.get("METRICS_DATA_DIR", PROJECT_ROOT / "data"))


def duckdb_path() -> Path:
    """The embedded warehouse file (DuckDB)."""
    return Path(os.environ.get("METRICS_DUCKDB_PATH", data_dir() / "warehouse.duckdb"))


def ops_store_path() -> Path:
    """The operational store of alerting (SQLite, WAL): incidents, deliveries, outbox."""
    return Path(os.environ.get("METRICS_OPS_STORE", data_dir() / "ops.sqlite"))


DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
RUNBOOK_DIR = PROJECT_ROOT / "runbooks"
