"""Partitioned runs of the dbt project are idempotent: every date-grained model replaces exactly its
window, so re-running a window (or any sub-window) leaves every mart identical, and a 30-day
backfill in one dbt invocation equals 30 single-day runs. Data: the real generator, small scale."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from metrics_assets.generator import write_partitions
from metrics_core.sources import SOURCES
from tests.test_dbt_harness import build_window, days, mart_checksums, mart_frames, parse_manifest

LAUNCH, RAW_FROM = date(2025, 1, 1), date(2025, 11, 1)
START, END = date(2025, 12, 1), date(2025, 12, 31)  # 30 days
SF, SEED = 0.02, 11


@pytest.fixture(scope="module")
def raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw sources from a month before the window to two days past it (events after the window
    exist, as in a production backfill: sessions and activation must not depend on their being built)."""
    db = (
        tmp_path_factory.mktemp("dbt_idem") / "generated.duckdb"
    )  # not raw.duckdb: catalog "raw" would clash with schema raw
    with duckdb.connect(str(db)) as con:
        for name in SOURCES:
            write_partitions(
                con, name, RAW_FROM, END + timedelta(days=2), scale_factor=SF, seed=SEED, launch_date=LAUNCH
            )
    return db


@pytest.fixture(scope="module")
def window_db(raw_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("dbt_window")
    db = tmp / "window.duckdb"
    shutil.copy(raw_db, db)
    build_window(db, tmp / "dbt", START, END)
    return db, mart_checksums(db)


def test_marts_are_not_empty(window_db: tuple[Path, dict[str, str]]) -> None:
    db, sums = window_db
    frames = mart_frames(db)
    assert {
        "fct_order_profit",
        "agg_profit_daily",
        "agg_growth_daily",
        "fct_events",
        "fct_sessions",
        "agg_engagement_daily",
        "agg_retention_cohorts",
    } <= set(sums)
    for name in ("agg_profit_daily", "agg_growth_daily", "agg_engagement_daily"):
        assert len(frames[name]) >= (END - START).days, name


def test_rerunning_a_window_or_a_day_changes_nothing(
    window_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db, before = window_db
    rerun = tmp_path / "rerun.duckdb"
    shutil.copy(db, rerun)
    build_window(rerun, tmp_path / "dbt", START, END, command="run")
    assert mart_checksums(rerun) == before
    build_window(rerun, tmp_path / "dbt", date(2025, 12, 10), date(2025, 12, 11), command="run")
    assert mart_checksums(rerun) == before


def test_full_refresh_rebuilds_the_tables_from_the_window(
    window_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """--full-refresh drops each window_replace table and creates it from the run's select: over
    the window the marts were built from, the same tables (dbt/macros/materializations)."""
    db, before = window_db
    again = tmp_path / "full_refresh.duckdb"
    shutil.copy(db, again)
    build_window(again, tmp_path / "dbt", START, END, command="run", extra=("--full-refresh",))
    assert mart_checksums(again) == before


def test_window_equals_single_days(
    window_db: tuple[Path, dict[str, str]], raw_db: Path, tmp_path: Path
) -> None:
    """30 daily runs in order, as a daily schedule would do them, end where one backfill ends.
    (Parsed once to keep it fast; the staging views exist after the first day.)"""
    _, expected = window_db
    db = tmp_path / "days.duckdb"
    shutil.copy(raw_db, db)
    manifest = parse_manifest(db, tmp_path / "parse")
    for i, d in enumerate(days(START, END)):
        extra = ("--exclude", "path:models/staging") if i else ()
        build_window(db, tmp_path / "dbt", d, d + timedelta(days=1), "run", manifest, extra)
    got = mart_checksums(db)
    differ = sorted(t for t in expected if got.get(t) != expected[t])
    assert not differ, f"marts differ between one 30-day run and 30 single days: {differ}"
