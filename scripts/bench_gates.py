"""Seconds of the raw app_events gates (events volume and null rates vs the weekday baseline) for
one judged day, with and without kept days in ops.check_day_cache (checks/day_cache.py).

Runs on a copy of a built warehouse (e.g. the SF 1 world of scripts/profile_models.py), so the
original is never written:
  1. nothing kept: what every evaluation paid before the cache (plus the fingerprint and the write);
  2. every day kept (a rerun, a publish step after the check step);
  3. the judged day new, its baseline kept (the next morning's run);
  4. a late event lands on a baseline day: that day is computed again, the others kept.
Every evaluation's outcomes must equal the first one's, except after the late event (a baseline
day changed). On the commit before the cache, every evaluation is case 1.

Usage:
    python scripts/bench_gates.py --db /tmp/metrics-profile/profile-sf1-30d.duckdb --day 2026-09-30
"""

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from checks.core import evaluate  # noqa: E402
from checks.registry import catalogue  # noqa: E402
from resources.warehouse import Warehouse  # noqa: E402

GATES = ("events_volume_vs_weekday_baseline", "null_rate_vs_baseline")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a built warehouse (copied, never written)")
    ap.add_argument("--day", type=date.fromisoformat, required=True, help="the judged day")
    ap.add_argument("--out", type=Path, help="also write the table here")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-gates-"))
    try:
        db = work / "w.duckdb"
        shutil.copyfile(a.db, db)
        with duckdb.connect(str(db)) as con:
            con.execute("drop table if exists ops.check_day_cache")
            raw_rows = con.execute("select count(*) from raw.app_events").fetchone()[0]
        wh = Warehouse(backend="duckdb", duckdb_path=str(db))
        checks = [c for c in catalogue().checks if c.asset == "raw/app_events" and c.name in GATES]
        now = datetime.combine(a.day + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)

        def run() -> tuple[float, list[tuple]]:
            t = time.perf_counter()
            with wh.session("bench_gates"):
                memo: dict = {}
                outs = [o for c in checks for o in evaluate(c, wh, [a.day], now=now, memo=memo)]
            return time.perf_counter() - t, [(o.check, o.status, o.value, o.baseline) for o in outs]

        rows = []
        first_s, first = run()
        rows.append(("nothing kept (every evaluation before the cache)", first_s, first))
        rows.append(("every day kept", *run()))
        with duckdb.connect(str(db)) as con:
            con.execute("delete from ops.check_day_cache where day = ?", [a.day])
        rows.append(("the judged day new, its baseline kept (next morning)", *run()))
        late = a.day - timedelta(days=7)
        with duckdb.connect(str(db)) as con:
            con.execute(
                "insert into raw.app_events select * replace (event_id || '-late' as event_id) "
                "from raw.app_events where cast(event_time as date) = ? limit 1",
                [late],
            )
        rows.append((f"a late event on {late}: that day computed again", *run()))
        lines = [
            f"raw app_events gates for {a.day} on a copy of {a.db} ({raw_rows:,} raw events)",
            f"{'case':58s} {'seconds':>8s}  outcomes",
        ]
        for label, seconds, outcomes in rows:
            same = "same as the first" if outcomes == first else "differ: " + repr(outcomes)
            lines.append(f"{label:58s} {seconds:8.2f}  {same}")
        for check, status, value, baseline in first:
            lines.append(f"  {check}: {status}, value {value:.6g}, baseline {baseline:.6g}")
        text = "\n".join(lines)
        print(text)
        if a.out:
            a.out.write_text(text + "\n")
        return 0 if all(o == first for _, _, o in rows[:3]) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
