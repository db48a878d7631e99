"""The failure-mode catalogue and the check thresholds: complete, consistent, refused when broken."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from checks.core import IMPLEMENTATIONS, KINDS, implementation_of, load_implementations
from checks.registry import load_catalogue
from checks.settings import load_check_settings
from checks.vocabulary import KIND_PARAMS
from metrics_assets.cli import build_parser
from metrics_core.config import ConfigError, pipeline_config
from metrics_core.paths import PROJECT_ROOT, config_dir

CATALOGUE = PROJECT_ROOT / "checks" / "failure_modes.yaml"


def test_catalogue_covers_every_spec_failure_mode_with_an_implemented_check():
    cat = load_catalogue()
    assert len(cat.failure_modes) == 32
    load_implementations()
    for c in cat.checks:
        assert implementation_of(c) is not None, f"{c.key} has no implementation"
        assert c.kind == "custom" or c.kind in KINDS, c.key
        assert c.pipeline in pipeline_config().ids
        assert c.runbook_link == f"runbooks/{c.pipeline}.md#{c.failure_mode}"
    custom = {(c.asset, c.name) for c in cat.checks if c.kind == "custom"}
    assert set(IMPLEMENTATIONS) == custom, "implemented checks not in catalogue (or of a kind)"
    assert set(KINDS) == set(KIND_PARAMS), "a kind without its parameters, or back"


def test_investor_gates_include_raw_sources_and_marts():
    cat = load_catalogue()
    gates = {c.key for c in cat.gates_for("profit_agg")}
    assert {
        "raw/orders:source_contract",
        "fct_order_profit:cost_coverage_per_region",
        "agg_profit_daily:reconciles_with_unit_profit",
    } <= gates
    assert all(c.severity.value == "ERROR" for c in cat.gates_for("engagement_agg"))
    assert "raw/users:source_contract" in {c.key for c in cat.gates_for("engagement_agg")}


def _broken_copy(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(CATALOGUE.read_text())
    mutate(data)
    path = tmp_path / "failure_modes.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (
            lambda d: d["failure_modes"]["profit-cost-coverage"].update(pipeline="profit"),
            "profit-cost-coverage: pipeline 'profit' is not one of",
        ),
        (  # a check on a raw table routes only to a pipeline that reads it
            lambda d: d["failure_modes"]["profit-transactions-missing"].update(pipeline="growth_agg"),
            "raw/orders is not one of growth_agg's raw_sources",
        ),
        (
            lambda d: d["failure_modes"]["profit-cost-coverage"]["checks"][0].update(severity="FATAL"),
            "severity",
        ),
        (
            lambda d: d["failure_modes"]["profit-test-orders"]["checks"].append(
                {"asset": "fct_order_profit", "name": "cost_coverage_per_region", "severity": "ERROR"}
            ),
            "listed under",
        ),
        (
            lambda d: d["failure_modes"]["profit-transactions-missing"]["checks"][0].update(
                asset="raw/ordrs"
            ),
            "raw/ordrs",
        ),
        (lambda d: d["failure_modes"]["growth-late-churn"].update(checks=[]), "growth-late-churn"),
        # the check vocabulary: an unknown kind, a param the kind lacks, thresholds that are not there
        (
            lambda d: d["failure_modes"]["profit-duplicate-orders"]["checks"][0].update(kind="distinct"),
            "fct_order_profit:order_id_unique: unknown kind 'distinct'",
        ),
        (
            lambda d: d["failure_modes"]["profit-duplicate-orders"]["checks"][0]["params"].update(keys="x"),
            "fct_order_profit:order_id_unique (kind unique): params.keys: Extra inputs",
        ),
        (
            lambda d: d["failure_modes"]["profit-day-over-day-jump"]["checks"][0]["params"].update(
                thresholds="profit.profit_drift"
            ),
            "params.thresholds: config/checks.yaml has no Deviation thresholds at 'profit.profit_drift'",
        ),
        (
            lambda d: d["failure_modes"]["profit-cost-coverage"]["checks"][0].update(params={"key": "x"}),
            "kind custom takes no params",
        ),
    ],
)
def test_broken_catalogue_is_refused_naming_the_problem(tmp_path: Path, mutate, needle: str):
    with pytest.raises(ConfigError) as err:
        load_catalogue(_broken_copy(tmp_path, mutate))
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "path, value",
    [
        (["profit", "cost_coverage", "min_coverage"], 1.5),
        (["engagement", "dau_deviation", "direction"], "sideways"),
        (["experiments", "srm", "p_value"], 0),
        (["growth", "net_growth", "unknown_key"], 1),
        (["critical_fields", "fields", "orders", "user_idd"], 0),
        (["critical_fields", "fields", "app_events", "user_id"], 1.5),
        (["profit", "fx_jump", "floor_pct"], 0),
    ],
)
def test_bad_threshold_is_refused_naming_the_key(tmp_path: Path, path: list[str], value):
    data = yaml.safe_load((config_dir() / "checks.yaml").read_text())
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    bad = tmp_path / "checks.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_check_settings(bad)
    assert ".".join(path) in str(err.value)


def test_every_critical_field_source_has_a_null_rate_check_and_back():
    """config/checks.yaml critical_fields and the catalogue's null_rate checks name the same sources."""
    s = load_check_settings()
    listed = {c.asset.split("/", 1)[1] for c in load_catalogue().checks if c.name == "null_rate_vs_baseline"}
    assert listed == set(s.critical_fields.fields)
    fields = s.critical_fields.fields
    assert "user_id" in fields["app_events"] and "user_id" in fields["orders"]


def test_thresholds_come_from_config():
    s = load_check_settings()
    assert s.profit.cost_coverage.min_coverage == 0.995
    assert (
        s.profit.profit_deviation.floor_pct,
        s.growth.new_users_deviation.floor_pct,
        s.engagement.dau_deviation.floor_pct,
    ) == (0.20, 0.25, 0.30)


def test_ci_runner_reports_and_exits_on_error(tmp_path: Path, monkeypatch, capsys):
    from tests.test_checks_detect import DAY, fault, world_copy

    wh = world_copy(tmp_path / "w.duckdb")
    monkeypatch.setenv("METRICS_DUCKDB_PATH", wh.path)
    monkeypatch.setenv("METRICS_WAREHOUSE", "duckdb")
    parser = build_parser("checks")
    args = parser.parse_args(["checks", "run", "--start", str(DAY), "--report-dir", str(tmp_path / "ok")])
    assert args.func(args) == 0
    fault("fx_gap")(wh)
    args = parser.parse_args(
        ["checks", "run", "--start", str(DAY), "--end", str(DAY), "--report-dir", str(tmp_path / "bad")]
    )
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert (
        "fct_order_profit:fx_rate_coverage" in out and "runbooks/profit_agg.md#profit-fx-misalignment" in out
    )
    report = json.loads((tmp_path / "bad" / "checks.json").read_text())
    assert report["summary"]["error_failures"] == 1
    assert report["summary"]["failed_checks"] == ["fct_order_profit:fx_rate_coverage"]
    suite = ET.parse(tmp_path / "bad" / "checks-junit.xml").getroot()
    assert suite.get("tests") == str(len(load_catalogue().checks)) == "48"
    assert suite.get("failures") == "1"
    failing = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failing] == [
        ("fct_order_profit", "fx_rate_coverage")
    ]
    hist = wh.query_df("select count(distinct run_id) as runs, count(*) as n from ops.check_history")
    assert int(hist["runs"].iloc[0]) == 2 and int(hist["n"].iloc[0]) == 2 * 48


def test_ci_runner_takes_the_run_clock(monkeypatch, capsys):
    """`--now` is the run clock of `metrics checks run` (as the run tag metrics/now is for a run);
    a bad value exits 2 naming the option, before the warehouse is opened."""
    from datetime import datetime

    from metrics_assets.cli import checks as cli_checks

    seen = {}

    def fake_run_all(warehouse, start, end, **kw):
        seen.update(kw)
        return []

    monkeypatch.setattr(cli_checks, "run_all_checks", fake_run_all)
    monkeypatch.setattr("resources.warehouse.Warehouse.from_env", classmethod(lambda cls: None))
    parser = build_parser("checks")
    args = parser.parse_args(["checks", "run", "--start", "2025-03-01", "--now", "2025-03-02T06:00:00Z",
                              "--no-history"])
    assert args.func(args) == 0
    assert seen["now"] == datetime(2025, 3, 2, 6, 0)
    args = parser.parse_args(["checks", "run", "--start", "2025-03-01", "--now", "tomorrow", "--no-history"])
    assert args.func(args) == 2
    assert "--now" in capsys.readouterr().err
