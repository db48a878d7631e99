"""The project follows Dagster's current conventions: `dg check defs` and `dg list defs` work
on it ([tool.dg] in pyproject.toml), and the definitions are built lazily by a
`@dg.definitions` function."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).with_name("dg")


def _dg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # telemetry off
    env = {**os.environ, "DAGSTER_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([str(DG), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_dg_check_defs_passes(tmp_path: Path):
    res = _dg(tmp_path, "check", "defs")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "All definitions loaded successfully" in res.stdout + res.stderr


def test_dg_list_defs_shows_the_graph(tmp_path: Path):
    res = _dg(tmp_path, "list", "defs", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    listed = json.loads(res.stdout)
    keys = {a["asset_key"] for a in listed["assets"]}
    assert {"raw/orders", "agg_profit_daily", "investor/profit_daily"} <= keys
    assert {j["name"] for j in listed["jobs"]} >= {"all_pipelines"}
    assert len(listed["asset_checks"]) > 100


def test_definitions_are_a_lazy_entry_point():
    from metrics_assets import definitions

    assert not isinstance(definitions.defs, dg.Definitions)  # built when Dagster loads it
    assert isinstance(definitions.build_definitions(), dg.Definitions)
