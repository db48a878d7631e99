"""Owners' SLOs with an injected clock: on time vs late, backfills apart, the error budget over a
month, the ops tables and `metrics status` reading the same records, and bad SLO config refused."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from metrics_assets.publication.slo_tables import evaluate, refresh
from metrics_core.config import ConfigError, load_pipeline_config, pipeline_config
from metrics_core.paths import PROJECT_ROOT
from metrics_core.slo import DayRecord, Slos, at_risk_day, attainment, daily_deadline, judge
from resources.warehouse import Warehouse

SLOS = Slos()  # the defaults of shared/seeds/003: 15 min grace, 99.5% complete, 0.5 pp
DAY = date(2026, 10, 5)
DEADLINE = datetime(2026, 10, 6, 8, 0)  # profit_agg's daily SLA: 08:00 UTC the morning after


def test_the_at_risk_day_is_the_one_whose_deadline_is_within_30_minutes_or_past():
    assert at_risk_day(datetime(2026, 10, 6, 7, 29), "0 8 * * *", "UTC", 30) == (
        date(2026, 10, 4), datetime(2026, 10, 5, 8, 0))  # 10-05's window opens at 07:30
    assert at_risk_day(datetime(2026, 10, 6, 7, 30), "0 8 * * *", "UTC", 30) == (DAY, DEADLINE)
    assert at_risk_day(datetime(2026, 10, 6, 23, 0), "0 8 * * *", "UTC", 30) == (DAY, DEADLINE)


def test_the_deadline_is_the_cron_time_the_morning_after():
    assert daily_deadline(DAY, "0 8 * * *", "UTC") == DEADLINE
    assert daily_deadline(DAY, "30 9 * * *", "Asia/Kolkata") == datetime(2026, 10, 6, 4, 0)
    with pytest.raises(ValueError, match="not a daily"):
        daily_deadline(DAY, "0 12 1 * *", "UTC")


def test_ten_minutes_after_the_deadline_is_on_time_twenty_is_late():
    now = DEADLINE + timedelta(hours=2)
    on = judge(DayRecord(DAY, DEADLINE, DEADLINE + timedelta(minutes=10), "schedule"), SLOS, now)
    late = judge(DayRecord(DAY, DEADLINE, DEADLINE + timedelta(minutes=20), "schedule"), SLOS, now)
    assert (on.on_time, on.lag_minutes) == (True, 10)
    assert (late.on_time, late.lag_minutes) == (False, 20)
    assert on.published and late.published


def test_a_backfill_counts_for_neither():
    now = DEADLINE + timedelta(days=3)
    early = judge(DayRecord(DAY, DEADLINE, DEADLINE - timedelta(hours=3), "backfill"), SLOS, now)
    late = judge(DayRecord(DAY, DEADLINE, DEADLINE + timedelta(days=2), "backfill"), SLOS, now)
    assert early.on_time is None and late.on_time is None
    assert early.published and late.published  # completeness still counts the day
    [fresh, *_] = attainment([early, late], SLOS, now)
    assert (fresh.judged, fresh.good) == (0, 0)


def test_a_missing_day_is_a_miss_only_once_its_deadline_and_grace_passed():
    rec = DayRecord(DAY, DEADLINE)
    assert judge(rec, SLOS, DEADLINE + timedelta(minutes=14)).on_time is None  # not due yet
    j = judge(rec, SLOS, DEADLINE + timedelta(minutes=15))
    assert (j.due, j.on_time, j.published) == (True, False, False)


def test_the_budget_burns_as_expected_over_a_synthetic_month():
    """A 30-day window at target 90% allows 3 misses; misses on days 5, 12 and 20 spend a third of
    the budget each, and a fourth overspends it."""
    slos = Slos(freshness={"target": 0.9, "window_days": 30})
    start = date(2026, 9, 1)
    misses = {5, 12, 20, 27}
    recs = []
    for i in range(30):
        d = start + timedelta(days=i)
        dl = daily_deadline(d, "0 8 * * *", "UTC")
        at = dl + (timedelta(hours=1) if i + 1 in misses else timedelta(minutes=-30))
        recs.append(DayRecord(d, dl, at, "schedule"))
    now = datetime(2026, 10, 1, 12, 0)
    remaining = []
    for upto in (4, 5, 12, 20, 27, 30):
        judged = [judge(r, slos, now) for r in recs[:upto]]
        fresh = attainment(judged, slos, now)[0]
        remaining.append(round(fresh.budget_remaining, 3))
    # budget = 10% of the judged days: 0.4 d after 4 days (none spent), then each miss spends 1 day
    assert remaining == [1.0, 1 - 1 / 0.5, round(1 - 2 / 1.2, 3), round(1 - 3 / 2.0, 3),
                         round(1 - 4 / 2.7, 3), round(1 - 4 / 3.0, 3)]
    final = attainment([judge(r, slos, now) for r in recs], slos, now)[0]
    assert (final.judged, final.good, final.met) == (30, 26, False)
    assert final.burn_rate == pytest.approx((4 / 30) / 0.1)


def test_a_day_published_without_all_its_source_rows_is_incomplete():
    """Completeness counts rows too: a day whose investor table holds fewer rows than the model's
    day (a region missing) is a completeness miss, however punctual; unknown counts hold nothing."""
    now = DEADLINE + timedelta(hours=2)
    at = DEADLINE - timedelta(hours=1)
    whole = judge(DayRecord(DAY, DEADLINE, at, "schedule", published_rows=4, source_rows=4), SLOS, now)
    short = judge(DayRecord(DAY, DEADLINE, at, "schedule", published_rows=3, source_rows=4), SLOS, now)
    unknown = judge(DayRecord(DAY, DEADLINE, at, "schedule"), SLOS, now)
    assert (whole.published, short.published, unknown.published) == (True, False, True)
    assert short.on_time is True  # freshness is its own objective
    [_, complete, _] = attainment([whole, short], SLOS, now)
    assert (complete.judged, complete.good) == (2, 1)


def test_accuracy_judges_the_net_drift_against_its_limit():
    now = DEADLINE + timedelta(days=5)
    ok = judge(DayRecord(DAY, DEADLINE, DEADLINE, "schedule", max_drift_pp=0.4), SLOS, now)
    bad = judge(DayRecord(DAY, DEADLINE, DEADLINE, "schedule", max_drift_pp=0.6), SLOS, now)
    never = judge(DayRecord(DAY, DEADLINE, None, None, max_drift_pp=None), SLOS, now)
    assert (ok.accurate, bad.accurate, never.accurate) == (True, False, None)


# ------------------------------------------------------------------ the ops tables and the CLI
def _warehouse(path: Path) -> None:
    """Publication records of profit_daily: day 1 on time by the schedule, day 2 20 min late,
    day 3 by a backfill, day 4 never published; growth_daily on time every day."""
    con = duckdb.connect(str(path))
    con.execute("create schema ops")
    con.execute("create table ops.publication_log (investor_table varchar, unit date, action varchar, "
                "reason varchar, run_id varchar, approved_by varchar, logged_at timestamp)")
    con.execute("create table ops.run_triggers (run_id varchar, trigger varchar, recorded_at timestamp)")
    con.execute("insert into ops.run_triggers values ('s1', 'schedule', null), ('s2', 'schedule', null), "
                "('b1', 'backfill', null), ('g', 'schedule', null)")
    rows = [("investor.profit_daily", date(2026, 10, 1), "s1", datetime(2026, 10, 2, 8, 10)),
            ("investor.profit_daily", date(2026, 10, 2), "s2", datetime(2026, 10, 3, 8, 20)),
            ("investor.profit_daily", date(2026, 10, 3), "b1", datetime(2026, 10, 6, 14, 0))]
    rows += [("investor.growth_daily", date(2026, 10, d), "g", datetime(2026, 10, d + 1, 8, 0))
             for d in range(1, 5)]
    con.executemany("insert into ops.publication_log values (?, ?, 'published', '', ?, null, ?)",
                    [(t, u, r, at) for t, u, r, at in rows])
    con.close()


def test_ops_tables_and_status_read_the_same_records(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    _warehouse(path)
    monkeypatch.setenv("METRICS_DUCKDB_PATH", str(path))
    now = datetime(2026, 10, 6, 15, 0)
    states = refresh(Warehouse(duckdb_path=str(path)), pipeline_config(), now, tables=["profit_daily"])
    con = duckdb.connect(str(path))
    daily = con.execute("select day, on_time, published, lag_minutes, first_trigger from ops.slo_daily "
                        "where day >= '2026-10-01' order by day").fetchall()
    att = {r[0]: r[1:] for r in con.execute("select objective, judged, good from ops.slo_attainment")
           .fetchall()}
    con.close()
    assert daily == [(date(2026, 10, 1), True, True, 10.0, "schedule"),
                     (date(2026, 10, 2), False, True, 20.0, "schedule"),
                     (date(2026, 10, 3), None, True, 54 * 60.0, "backfill"),  # 2 d 6 h after 10-04 08:00
                     (date(2026, 10, 4), False, False, None, None),
                     (date(2026, 10, 5), False, False, None, None)]  # due since 10-06 08:15
    # the 28-day window ends at 10-05: the days before 10-01 were never published (misses too)
    assert att["freshness"] == (27, 1)  # the backfilled day is not judged; 10-01 alone was on time
    assert att["completeness"] == (28, 3)
    assert [a.judged for a in states[0].attainments] == [att[o][0] for o in ("freshness", "completeness",
                                                                             "accuracy")]
    # the terminal shows the same facts, without importing Dagster
    env = {**os.environ, "METRICS_DUCKDB_PATH": str(path), "METRICS_CONFIG_DIR": str(PROJECT_ROOT / "config")}
    probe = ("import sys; from metrics_assets.cli import main; code = main(sys.argv[1:]); "
             "import json; print(json.dumps(['dagster' in sys.modules, code]))")
    res = subprocess.run([sys.executable, "-c", probe, "status", "--pipeline", "profit_agg",
                          "--now", "2026-10-06T15:00:00Z"], env=env, capture_output=True, text=True,
                         check=True)
    *lines, last = res.stdout.strip().splitlines()
    assert json.loads(last) == [False, 0]
    text = "\n".join(lines)
    assert "investor.profit_daily: 2026-10-05 NOT PUBLISHED, 420 min past its 08:00 UTC deadline" in text
    assert "freshness 3.7% of 27 d (target 99.0%; 26 missed, 0.3 allowed, budget left 0%)  MISSED" in text


@pytest.mark.parametrize("slo, needle", [
    ({"freshness": {"target": 1.5}}, "slo.freshness.target"),
    ({"accuracy": {"window_days": 0}}, "slo.accuracy.window_days"),
    ({"completeness": {"min_share": 0.9}}, "slo.completeness.min_share"),
])
def test_bad_slo_config_is_refused_naming_the_key(tmp_path, slo, needle):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "pipelines.yaml").read_text())
    data["pipelines"]["profit_agg"]["publication"]["tables"]["profit_daily"]["slo"] = slo
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(path)
    assert f"pipelines.profit_agg.publication.tables.profit_daily.{needle}" in str(err.value)


def test_a_daily_slo_needs_a_daily_deadline_cron(tmp_path):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "pipelines.yaml").read_text())
    data["pipelines"]["growth_agg"]["sla"]["daily"]["deadline_cron"] = "30 8 * * 1-5"
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"pipelines.growth_agg.sla.daily: deadline_cron '30 8 \* \* 1-5' "
                       r"is not a daily 'M H \* \* \*' cron \(freshness SLO\)"):
        load_pipeline_config(path)


def test_a_table_override_is_laid_over_the_defaults(tmp_path):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "pipelines.yaml").read_text())
    data["pipelines"]["growth_agg"]["publication"]["tables"]["growth_daily"]["slo"] = {
        "freshness": {"grace_minutes": 30}}
    data["slo_defaults"]["accuracy"]["window_days"] = 14
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    t = load_pipeline_config(path).investor_tables
    assert t["growth_daily"].slo.freshness.grace_minutes == 30
    assert t["growth_daily"].slo.freshness.target == 0.99  # the rest of freshness is the default's
    assert t["profit_daily"].slo.freshness.grace_minutes == 15
    assert t["profit_daily"].slo.accuracy.window_days == 14


def test_evaluate_on_an_empty_warehouse_judges_missing_days(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    con = duckdb.connect(str(path))
    states = evaluate(con.cursor(), pipeline_config(), datetime(2026, 10, 6, 15, 0))
    con.close()
    assert {s.table for s in states} == {"investor.profit_daily", "investor.profit_daily_by_region",
                                         "investor.growth_daily", "investor.engagement_daily"}
    assert all(a.good == 0 for s in states for a in s.attainments)
