"""Detection matrix through the real Dagster job: one injected fault per failure mode, caught by its
catalogue check, and kept out of the investor tables.

World: the generator at SF 0.05 (the configured world), users/closures/assignments since launch,
everything else from 2026-07-27; the job `all_pipelines` builds [2026-07-27, 2026-10-05] once (raw ->
dbt build -> asset checks -> investor publication): run A. Fault days start on 2026-09-01, so every
baseline check has 36 clean days of history (the detector needs 28).

SF and magnitudes: at SF 0.05 a day has ~850 orders, ~35k events, ~10 signups and ~3 closures.
Orders lose 60% (a 30% drop is within noise for ~850 orders: ~40% detection, benchmarks/detection.md),
the growth spike is a replayed signup batch (share 1.0 x 60: net growth above the 10%-of-active
bound, since the new-users deviation rule never judges fewer than 30 signups a day), the other
faults use their registry defaults (bot spike +30%, DAU -40%, duplicate events 8%, ...).

Each fault has its own day. Faults that touch the same series are days apart, later faults never
sit inside an earlier fault's footprint (the randomisation fault rewrites 14 days of assignments,
so the leakage faults come after it), and the late refunds land on a day of their own.

Runs after the clean build (none regenerates the raw layer):
  B  non-raw assets + catalogue checks for the days of the faults dbt's structural tests let through;
  C  the same for the faults a dbt ERROR test stops (duplicate order ids, a missing FX rate, a
     duplicated user id, null keys) plus two whole-table schema faults (int -> decimal, renamed
     column): the dbt step fails, nothing downstream runs or publishes; the schema faults are
     reverted right after;
  E  catalogue checks only, over every fault day, after the faults that exist only once a day is
     built (unit/aggregate tamper, slow run, late experiment feed) were applied (after run C,
     whose dbt build restates the lookback days before its window);
  P  investor publication only (write-audit-publish, `approved_by` tag: September is a closed
     period), which audits every day afresh.

Publication rule asserted: the clean build published every day; a day whose fault fails an ERROR
gate of an investor pipeline is refused by P and keeps the clean value published by run A (no later
run replaced it), while clean control days in the same runs are re-published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

from checks.anomaly import anomaly_params
from checks.registry import catalogue
from checks.settings import check_settings
from metrics_assets.generator import faults
from metrics_core.config import pipeline_config
from resources.warehouse import Warehouse
from tests.world import definitions, range_tags

SF = 0.05
H0 = date(2026, 7, 27)  # first built day (history for the baselines)
F0 = date(2026, 9, 1)  # first fault day
END = date(2026, 10, 5)  # last built day (inclusive)
APPROVER = "AM"  # one of config/team.yaml approvers (any other name is refused)


@dataclass
class Row:
    """One fault of the matrix: which failure mode it is for and which check must catch it."""

    slot: int  # day = F0 + slot
    fault: str
    failure_mode: str
    checks: tuple[str, ...]  # catalogue "asset:name" keys; at least one must fail on `detect_day`
    params: dict[str, Any] = field(default_factory=dict)
    stage: str = "B"  # B | after | C | ddl
    detect_offset: int = 0
    handled: bool = False  # the metric filters the fault out: WARN at most, and the day is published
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date:
        return F0 + timedelta(days=self.slot)

    @property
    def detect_day(self) -> date:
        return self.day + timedelta(days=self.detect_offset)

    @property
    def id(self) -> str:
        return f"{self.failure_mode}/{self.fault}"


ROWS: list[Row] = [
    Row(0, "volume_drop", "profit-transactions-missing", ("raw/orders:orders_volume_vs_weekday_baseline",),
        {"table": "orders", "share": 0.6}),
    Row(1, "marketing_api_gap", "growth-marketing-api-failure",
        ("raw/marketing_spend:spend_present_for_active_channels",)),
    Row(2, "missing_costs_region", "profit-cost-coverage", ("fct_order_profit:cost_coverage_per_region",)),
    Row(3, "ingestion_stall", "engagement-ingestion-lag",
        ("raw/app_events:event_freshness", "raw/app_events:events_volume_vs_weekday_baseline")),
    Row(4, "late_refunds", "profit-late-refunds", ("raw/refunds:late_refund_monitor",),
        {"share": 0.2, "delay_days": 9}, detect_offset=9),  # the refunds land on slot 13
    Row(5, "bot_signups", "growth-bot-signups", ("agg_signup_quality_daily:bot_signup_share_vs_baseline",)),
    Row(6, "test_orders_leak", "profit-test-orders", ("fct_order_profit:no_test_orders",)),
    Row(7, "duplicate_events", "engagement-duplicate-events",
        ("fct_events:event_id_unique", "agg_event_quality_daily:duplicate_rate_vs_baseline"), handled=True),
    Row(8, "late_churn", "growth-late-churn", ("raw/account_closures:churn_log_freshness",)),
    Row(9, "timezone_shift", "profit-timezone-shift", ("raw/orders:partition_day_boundaries_utc",)),
    Row(10, "renamed_event_type", "engagement-event-schema-change",
        ("raw/app_events:source_contract", "agg_event_quality_daily:unknown_event_type_share")),
    Row(11, "profit_jump", "profit-day-over-day-jump",
        ("agg_profit_daily:profit_deviation_vs_trailing_mean",)),
    Row(12, "bot_spike", "engagement-bot-traffic", ("agg_event_quality_daily:bot_share_vs_baseline",),
        handled=True),
    Row(14, "growth_spike", "growth-extreme-numbers",
        ("agg_growth_daily:net_growth_within_bounds",
         "agg_growth_daily:new_users_deviation_vs_trailing_mean"),
        {"share": 1.0, "times": 60}),
    Row(15, "broken_randomisation", "experiment-broken-randomisation",
        ("raw/experiment_assignments:sample_ratio_mismatch",)),
    Row(16, "session_split", "engagement-sessionization-fault",
        ("fct_sessions:session_id_unique", "agg_engagement_daily:session_length_vs_baseline")),
    Row(17, "slow_run", "profit-long-runtime", ("agg_profit_daily:run_duration_vs_baseline",), stage="after"),
    Row(18, "person_variant_conflict", "growth-experiment-exclusions",
        ("agg_growth_experiment_daily:one_variant_per_user_and_experiment",)),
    Row(19, "dau_drop", "engagement-dau-deviation", ("agg_engagement_daily:dau_deviation_vs_trailing_mean",)),
    Row(20, "unit_agg_mismatch", "profit-unit-agg-mismatch",
        ("agg_profit_daily:reconciles_with_unit_profit",), stage="after"),
    Row(21, "variant_leakage", "experiment-leakage",
        ("raw/experiment_assignments:no_user_in_two_variants",)),
    Row(22, "nonsense_values", "engagement-nonsense-values",
        ("agg_engagement_daily:engagement_values_sane",)),
    Row(23, "feed_late", "experiment-feed-late", ("fct_order_profit:partition_freshness_vs_sla",),
        stage="after"),
    # the failure modes an independent tester found uncaught (issue 10): reference data off against
    # its own history, NULLs in critical fields, a rise of repeat signups the metric deduplicates
    Row(24, "fx_rate_jump", "profit-reference-data-jump", ("raw/fx_rates:fx_rate_vs_own_history",)),
    Row(25, "cost_table_mismatch", "profit-reference-data-jump",
        ("raw/order_costs:cost_rates_vs_own_history",)),
    Row(26, "null_user_ids", "engagement-null-user-ids", ("raw/app_events:null_rate_vs_baseline",)),
    Row(27, "null_amounts", "profit-critical-field-nulls", ("raw/payments:null_rate_vs_baseline",),
        {"table": "payments", "column": "amount", "share": 0.02}),
    Row(28, "repeat_signups", "growth-duplicate-signup-rate",
        ("agg_signup_quality_daily:repeat_signup_share_vs_baseline",), handled=True),
    # slots 29-30: clean control days
    Row(31, "duplicated_orders", "profit-duplicate-orders", ("fct_order_profit:order_id_unique",), stage="C"),
    Row(32, "null_keys", "growth-schema-drift", ("raw/account_closures:source_contract",),
        {"table": "account_closures", "column": "user_id", "share": 1.0}, stage="C"),  # a day with closures
    Row(33, "duplicate_signups", "growth-duplicate-users",
        ("dim_users:user_id_unique", "dim_persons:one_person_per_email_hash"), stage="C"),
    Row(34, "fx_gap", "profit-fx-misalignment", ("fct_order_profit:fx_rate_coverage",), stage="C"),
    # whole-table schema faults, applied for run C only (every day of it breaks) and reverted after
    Row(31, "int_to_decimal", "profit-source-schema-change", ("raw/payments:source_contract",),
        {"table": "payments", "column": "payment_id"}, stage="ddl"),
    Row(31, "api_schema_drift", "growth-schema-drift", ("raw/marketing_spend:source_contract",), stage="ddl"),
]  # fmt: skip
W_B = (F0, F0 + timedelta(days=30))  # faults of stage B/after and the clean control days
W_C = (F0 + timedelta(days=31), END)
CONTROL_DAYS = [F0 + timedelta(days=29), F0 + timedelta(days=30)]


# ----------------------------------------------------------------------------------- runs


def _job(defs: dg.Definitions) -> dg.JobDefinition:
    return defs.resolve_job_def("all_pipelines")


def _catalogue_check_keys() -> set[dg.AssetCheckKey]:
    from metrics_assets.asset_checks import build_asset_checks

    return {k for c in build_asset_checks() for k in c.check_keys}


def _run(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: date,
    end: date,
    *,
    assets: str,
    checks: bool,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a subset of the real job for [start, end]: assets "all", "nonraw", "investor" or "none"."""
    job = _job(defs)
    graph = job.asset_layer.asset_graph
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    pick = {
        "all": keys,
        "nonraw": {k for k in keys if graph.get(k).group_name != "raw"},
        "investor": {k for k in keys if k.path[0] == check_settings().publication.schema_},
        "none": set(),
    }[assets]
    selected_checks: set[dg.AssetCheckKey] = set()
    if checks:  # the catalogue checks, and the dbt tests of the dbt models the run builds
        selected_checks = _catalogue_check_keys() | {k for k in graph.asset_check_keys if k.asset_key in pick}
    # checks defined with an investor table (its publication gate) run with it: it cannot be subset
    schema = check_settings().publication.schema_
    selected_checks |= {
        k for k in graph.asset_check_keys if k.asset_key in pick and k.asset_key.path[0] == schema
    }
    sub = job.get_subset(asset_selection=pick, asset_check_selection=selected_checks)
    return sub.execute_in_process(
        instance=instance, tags={**range_tags(start, end), **(tags or {})}, raise_on_error=False
    )


def _inject(path: Path, rows: list[Row]) -> None:
    with duckdb.connect(str(path)) as con:
        for r in rows:
            res = faults.inject(con, r.fault, r.day, **r.params)
            assert res.failure_mode == r.failure_mode, f"{r.fault} targets {res.failure_mode}"
            r.result["detail"] = res.detail
            r.result["injection_id"] = res.injection_id


def _history(wh: Warehouse, run_id: str) -> dict[tuple[str, date], str]:
    df = wh.query_df(
        "select asset, check_name, partition_day, status from ops.check_history where run_id = ?", [run_id]
    )
    return {
        (f"{r['asset']}:{r['check_name']}", pd.Timestamp(r["partition_day"]).date()): r["status"]
        for r in df.to_dict("records")
    }


def _dagster_failed(res: dg.ExecuteInProcessResult) -> set[str]:
    """Catalogue and dbt-test checks whose Dagster evaluation in this run failed."""
    return {
        e.asset_check_key.asset_key.to_user_string() + ":" + e.asset_check_key.name
        for e in res.get_asset_check_evaluations()
        if not e.passed
    }


def _step_failed(res: dg.ExecuteInProcessResult, step: str) -> bool:
    return any(e.event_type_value == "STEP_FAILURE" and e.step_key == step for e in res.all_events)


@dataclass
class Matrix:
    wh: Warehouse
    runs: dict[str, dg.ExecuteInProcessResult]
    hist: dict[str, dict[tuple[str, date], str]]
    rows: list[Row]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> Matrix:
    from metrics_assets.cli.up import HISTORY_SOURCES
    from metrics_assets.ingest.raw_assets import raw_key

    path = tmp_path_factory.mktemp("detection_matrix") / "warehouse.duckdb"
    defs = definitions(path, SF)
    instance = dg.DagsterInstance.ephemeral()
    wh = Warehouse(backend="duckdb", duckdb_path=str(path))
    runs: dict[str, dg.ExecuteInProcessResult] = {}

    hist = _job(defs).execute_in_process(
        instance=instance,
        tags=range_tags(date(2025, 1, 1), H0 - timedelta(days=1)),
        asset_selection=[raw_key(s) for s in HISTORY_SOURCES],
        raise_on_error=False,
    )
    assert hist.success, "history load (users, closures, assignments since launch) failed"
    runs["A"] = _run(defs, instance, H0, END, assets="all", checks=True)
    assert runs["A"].success, "the clean build failed"

    by_stage = {s: [r for r in ROWS if r.stage == s] for s in ("B", "after", "C", "ddl")}
    _inject(path, by_stage["B"])
    runs["B"] = _run(defs, instance, *W_B, assets="nonraw", checks=True)
    assert not _step_failed(runs["B"], "metrics_dbt_models"), "dbt build failed on the B faults"

    _inject(path, by_stage["C"] + by_stage["ddl"])
    runs["C"] = _run(defs, instance, *W_C, assets="nonraw", checks=True)
    with duckdb.connect(str(path)) as con:
        for r in by_stage["ddl"]:
            faults.revert(con, injection_id=r.result["injection_id"])
    # after run C: its dbt build restates the lookback days before its window (W_B's tail), which
    # would rebuild the tampered aggregate and the late experiment feed
    _inject(path, by_stage["after"])

    runs["E"] = _run(defs, instance, F0, END, assets="none", checks=True)
    runs["P"] = _run(defs, instance, F0, END, assets="investor", checks=False, tags={"approved_by": APPROVER})
    return Matrix(wh, runs, {k: _history(wh, v.run_id) for k, v in runs.items()}, ROWS)


# ------------------------------------------------------------------------------ the matrix


def _evidence_runs(row: Row) -> list[str]:
    """Runs whose evaluations show the row's check: the re-materialisation for B, the checks-only
    run after the build for after-build and dbt-stopped faults, run C for the schema faults."""
    return {"B": ["B", "E"], "after": ["E"], "C": ["C", "E"], "ddl": ["C"]}[row.stage]


def _gated_tables(check_key: str) -> list[str]:
    """Daily investor tables whose publication gate includes this check."""
    asset, name = check_key.rsplit(":", 1)
    out = []
    for table, spec in pipeline_config().investor_tables.items():
        if spec.period != "day" or spec.depends_on_days_after:
            continue
        gates = catalogue().gates_for(spec.pipeline)
        if any(g.asset == asset and g.name == name for g in gates):
            out.append(table)
    return out


def _published(wh: Warehouse, table: str, day: date) -> set[str]:
    spec = pipeline_config().investor_tables[table]
    df = wh.query_df(
        f"select distinct _published_run_id as r from {check_settings().publication.schema_}.{table} "
        f"where {spec.day_column} = ?",
        [day],
    )
    return set(df["r"])


def _refused(wh: Warehouse, table: str, day: date, run_id: str) -> bool:
    target = f"{check_settings().publication.schema_}.{table}"
    df = wh.query_df(
        "select count(*) as n from ops.publication_log where investor_table = ? and unit = ? "
        "and run_id = ? and action = 'refused'",
        [target, day, run_id],
    )
    return int(df["n"].iloc[0]) > 0


def _evaluate(m: Matrix, row: Row) -> dict[str, Any]:
    """What the runs show for one row (also what the printed matrix says)."""
    d = row.detect_day
    failed_in = {
        run: sorted(c for c in row.checks if m.hist[run].get((c, d)) in ("fail", "error"))
        for run in _evidence_runs(row)
    }
    detected_by = sorted({c for cs in failed_in.values() for c in cs})
    clean = {c: m.hist["A"].get((c, d), "missing") for c in row.checks}
    sev = {c: catalogue().get(*c.rsplit(":", 1)).severity.value for c in row.checks}
    gating = {c: _gated_tables(c) for c in detected_by if sev[c] == "ERROR"}
    tables = sorted({t for ts in gating.values() for t in ts})
    pub = {t: _published(m.wh, t, d) for t in tables}
    refused = {t: _refused(m.wh, t, d, m.runs["P"].run_id) for t in tables}
    return {
        "failed_in": failed_in,
        "detected_by": detected_by,
        "clean": clean,
        "severity": sev,
        "tables": tables,
        "published_by": pub,
        "refused_by_P": refused,
        "dagster_failed": {run: sorted(set(row.checks) & _dagster_failed(m.runs[run])) for run in failed_in},
    }


def _fmt_row(row: Row, ev: dict[str, Any], run_names: dict[str, str]) -> str:
    checks = ", ".join(f"{c} [{ev['severity'][c]}]" for c in row.checks)
    det = "; ".join(f"{run}: {', '.join(cs) or '-'}" for run, cs in ev["failed_in"].items())
    if row.stage == "ddl":
        pub = "run C (dbt failed) published nothing; fault reverted before P"
    elif ev["tables"]:
        pub = ", ".join(
            f"{t}: {'refused' if ev['refused_by_P'][t] else 'NOT refused'}, "
            f"kept {'/'.join(run_names.get(r, r) for r in sorted(ev['published_by'][t])) or 'none'}"
            for t in ev["tables"]
        )
    elif any(s == "ERROR" for c, s in ev["severity"].items() if c in ev["detected_by"]):
        pub = "no investor table (experiment pipeline, fail-open)"
    else:
        pub = "WARN: publication not gated"
    return (
        f"| {row.failure_mode} | {row.fault} {row.params or ''} | {row.detect_day} | {checks} | "
        f"{det} | {'yes' if ev['detected_by'] else 'NO'} | {pub} |"
    )


@pytest.fixture(scope="module")
def evaluated(matrix: Matrix) -> dict[str, dict[str, Any]]:
    out = {r.id: _evaluate(matrix, r) for r in matrix.rows}
    names = {v.run_id: k for k, v in matrix.runs.items()}
    lines = [
        "",
        "Detection matrix (SF 0.05; runs: A clean build, B/C re-materialisation without raw, "
        "E checks only, P publication only)",
        "| failure mode | fault | day | check [severity] | failed in run | detected | investor publication |",
        "|---|---|---|---|---|---|---|",
        *(_fmt_row(r, out[r.id], names) for r in matrix.rows),
    ]
    print("\n".join(lines))
    return out


def test_every_failure_mode_has_a_row():
    assert sorted(set(catalogue().failure_modes) - {r.failure_mode for r in ROWS}) == []
    for r in ROWS:
        fm_checks = {c.key for c in catalogue().by_failure_mode(r.failure_mode)}
        assert set(r.checks) <= fm_checks, (
            f"{r.id}: {set(r.checks) - fm_checks} not checks of {r.failure_mode}"
        )
    days = [r.day for r in ROWS if r.stage != "ddl"] + [r.detect_day for r in ROWS if r.detect_offset]
    assert len(days) == len(set(days)), "two faults share a day"


def test_runs_behave_as_designed(matrix: Matrix, evaluated):
    runs = matrix.runs
    assert not _step_failed(runs["B"], "metrics_dbt_models")
    # run C: dbt's structural ERROR tests stop the build, so nothing downstream publishes
    assert _step_failed(runs["C"], "metrics_dbt_models")
    dbt_tests_failed = {
        k
        for k in _dagster_failed(runs["C"])
        if k.split(":", 1)[1] not in {c.name for c in catalogue().checks}
    }
    print(f"\nrun C: dbt tests that failed (ERROR ones stop the build): {sorted(dbt_tests_failed)}")
    assert dbt_tests_failed
    # the checks-only run evaluated every day of the window (not a fallback day)
    e_days = {d for (_, d) in matrix.hist["E"]}
    assert e_days == {F0 + timedelta(days=i) for i in range((END - F0).days + 1)}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_fault_is_caught_by_its_check(matrix: Matrix, evaluated, row: Row):
    ev = evaluated[row.id]
    assert ev["detected_by"], (
        f"{row.fault} on {row.day} ({row.result.get('detail')}) not caught by {row.checks} on "
        f"{row.detect_day}: {ev['failed_in']}"
    )
    # in the run that first saw the fault: the re-materialisation (B, schema faults: C), or the
    # checks-only run for faults that exist after a build or stopped dbt (E)
    primary = _evidence_runs(row)[-1] if row.stage in ("after", "C") else _evidence_runs(row)[0]
    assert ev["failed_in"][primary], f"{row.id}: not caught in run {primary}: {ev['failed_in']}"
    # the Dagster evaluation of the run says so as well (not only the history table)
    assert any(ev["dagster_failed"].values()), f"{row.id}: no failed Dagster check evaluation"
    # and the same check passed (or was not judgeable) on the clean build of that day
    for c in ev["detected_by"]:
        assert ev["clean"][c] in ("pass", "skip"), f"{c} already {ev['clean'][c]} on clean {row.detect_day}"


@pytest.mark.parametrize("row", [r for r in ROWS if r.stage != "ddl"], ids=lambda r: r.id)
def test_failed_error_gate_keeps_the_day_unpublished(matrix: Matrix, evaluated, row: Row):
    ev = evaluated[row.id]
    clean_run = matrix.runs["A"].run_id
    for table in ev["tables"]:
        assert ev["refused_by_P"][table], f"{table} {row.detect_day} was not refused by the publication run"
        assert ev["published_by"][table] == {clean_run}, (
            f"{table} {row.detect_day}: published by {ev['published_by'][table]}, expected only the clean "
            f"build's value"
        )
        p_hist = matrix.hist["P"]
        assert any(p_hist.get((c, row.detect_day)) == "fail" for c in ev["detected_by"]), (
            f"the publication audit of {row.detect_day} did not see {ev['detected_by']} fail"
        )


@pytest.mark.parametrize("row", [r for r in ROWS if r.handled], ids=lambda r: r.id)
def test_faults_the_metric_handles_warn_and_publish(matrix: Matrix, evaluated, row: Row):
    """Bot traffic, duplicate deliveries, repeat signups: the metric filters them out, so the
    published number is right. Their check only warns (the owner learns the source broke), no
    ERROR gate counts the filtered rows (the volume checks count what the metric counts), and the
    publication run re-publishes the day."""
    ev = evaluated[row.id]
    assert ev["detected_by"] and all(ev["severity"][c] == "WARN" for c in ev["detected_by"]), ev
    gates = catalogue().gates_for(row_pipeline(row))
    failed_gates = sorted(g.key for g in gates if matrix.hist["P"].get((g.key, row.day)) in ("fail", "error"))
    assert not failed_gates, f"{row.id}: ERROR gates failed on a day the metric handles: {failed_gates}"
    p_run = matrix.runs["P"].run_id
    for table, spec in pipeline_config().investor_tables.items():
        if spec.pipeline == row_pipeline(row) and spec.period == "day" and not spec.depends_on_days_after:
            assert _published(matrix.wh, table, row.day) == {p_run}, (table, row.day)
            assert not _refused(matrix.wh, table, row.day, p_run), (table, row.day)


def row_pipeline(row: Row) -> str:
    return catalogue().failure_modes[row.failure_mode].pipeline


def test_schema_faults_publish_nothing(matrix: Matrix, evaluated):
    """Whole-table schema faults fail their contract on every day of run C, and run C (dbt
    failed) published nothing: those days still hold the clean build's values."""
    c_days = [W_C[0] + timedelta(days=i) for i in range((W_C[1] - W_C[0]).days + 1)]
    for row in (r for r in ROWS if r.stage == "ddl"):
        for d in c_days:
            assert any(matrix.hist["C"].get((c, d)) in ("fail", "error") for c in row.checks), (row.id, d)
    c_run = matrix.runs["C"].run_id
    for table, spec in pipeline_config().investor_tables.items():
        if spec.period == "day" and not spec.depends_on_days_after:
            for d in c_days:
                assert c_run not in _published(matrix.wh, table, d), (table, d)


def test_clean_days_are_published(matrix: Matrix, evaluated):
    """The gate is not refusing everything: the clean build published every day the baselines
    can judge (earlier days: a gate that cannot be evaluated refuses them), and the publication
    run re-published the clean control days."""
    pub = check_settings().publication
    p_run = matrix.runs["P"].run_id
    judged = H0 + timedelta(days=anomaly_params().min_history_days)
    for table, spec in pipeline_config().investor_tables.items():
        if spec.period != "day" or spec.depends_on_days_after:
            continue
        df = matrix.wh.query_df(
            f"select count(distinct {spec.day_column}) as n from {pub.schema_}.{table} "
            f"where {spec.day_column} between ? and ?",
            [judged, END],
        )
        assert int(df["n"].iloc[0]) == (END - judged).days + 1, f"{table}: a day of the window is missing"
        # before that, a day one of whose ERROR gates could not be evaluated is refused, saying so
        # (a baseline without history); growth's gates need none, so its early days publish
        gates = {g.key for g in catalogue().gates_for(spec.pipeline)}
        skipped = {d for (k, d), st in matrix.hist["A"].items() if k in gates and st == "skip" and d < judged}
        refused = matrix.wh.query_df(
            "select unit, reason from ops.publication_log where investor_table = ? and run_id = ? "
            "and unit < ? and action = 'refused'",
            [f"{pub.schema_}.{table}", matrix.runs["A"].run_id, judged],
        )
        assert skipped <= {pd.Timestamp(u).date() for u in refused["unit"]}, table
        assert refused["reason"].str.contains("could not be evaluated").all(), table
        for d in CONTROL_DAYS:
            assert _published(matrix.wh, table, d) == {p_run}, (table, d)
