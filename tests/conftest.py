"""Shared fixtures: one small generated warehouse per test worker, built through the real job."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg
import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

WORLD_START = date(2026, 8, 1)
WORLD_END = date(2026, 9, 10)  # inclusive: 41 days, so the last 12 have a full 30-day MAU window


@pytest.fixture()
def cfg(tmp_path, monkeypatch):
    """A copy of config/ the project reads (METRICS_CONFIG_DIR), and a warehouse path of its own."""
    import shutil

    from metrics_core.paths import config_dir

    target = tmp_path / "config"
    shutil.copytree(config_dir(), target)
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(target))
    monkeypatch.setenv("METRICS_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    return target


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """Raw -> dbt -> checks -> publication for 41 days at SF 0.02 (user history since launch)."""
    from tests.world import build_world

    path = tmp_path_factory.mktemp("small_world") / "warehouse.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    return build_world(path, WORLD_START, WORLD_END, instance)


# Modules that take minutes start first, one per worker, so the short ones fill in around them
# (pytest-xdist --dist loadfile hands out modules in collection order).
_LONG_FIRST = (
    "test_real_use.py", "test_daily_replay.py", "test_detection_matrix.py", "test_dbt_idempotence.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(_LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
