"""`python -m metrics_assets.generator --db PATH --start 2026-10-01 --end 2026-11-01 --sf 0.05 --seed N`

Generates every raw source for [start, end) and prints rows and rows/second per source.
Defaults come from config/world.yaml.
"""

from __future__ import annotations

import argparse
from datetime import date

from metrics_assets.generator import generate_range
from metrics_core.paths import duckdb_path
from metrics_core.rules import world


def main(argv: list[str] | None = None) -> None:
    w = world()
    p = argparse.ArgumentParser(prog="python -m metrics_assets.generator", description="Generate raw data.")
    p.add_argument("--db", default=str(duckdb_path()), help="DuckDB file (default: METRICS_DUCKDB_PATH)")
    p.add_argument("--start", type=date.fromisoformat, required=True, help="first day (inclusive)")
    p.add_argument("--end", type=date.fromisoformat, required=True, help="last day (exclusive)")
    p.add_argument("--sf", type=float, default=w.scale_factor, help="scale factor (1 ~ 100k users)")
    p.add_argument("--seed", type=int, default=w.seed)
    p.add_argument("--launch-date", type=date.fromisoformat, default=w.launch_date)
    a = p.parse_args(argv)
    generate_range(a.db, a.start, a.end, a.sf, a.seed, a.launch_date)


if __name__ == "__main__":
    main()
