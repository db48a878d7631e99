"""The `metrics up` summary tells built days from published ones."""

from datetime import date
from pathlib import Path

from metrics_assets.cli.summary import headline_days
from resources.warehouse import Warehouse


def test_headline_days_count_only_what_the_table_holds(tmp_path: Path):
    wh = Warehouse(backend="duckdb", duckdb_path=str(tmp_path / "w.duckdb"))
    wh.execute("create schema investor")
    wh.execute("create table investor.profit_daily (order_date date, profit_usd double)")
    wh.execute(
        "insert into investor.profit_daily values ('2026-11-29', 1), ('2026-11-30', 2), ('2026-12-01', 3)"
    )
    assert headline_days(wh, "profit_agg", date(2026, 11, 1), date(2026, 11, 30)) == 2
    assert headline_days(wh, "profit_agg", date(2026, 10, 1), date(2026, 10, 31)) == 0


def test_headline_days_of_a_missing_table_is_unknown(tmp_path: Path):
    wh = Warehouse(backend="duckdb", duckdb_path=str(tmp_path / "w.duckdb"))
    assert headline_days(wh, "profit_agg", date(2026, 11, 1), date(2026, 11, 30)) is None
