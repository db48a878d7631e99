"""scripts/profile_models.py: the EXPLAIN ANALYZE digest counts each input table once, sees a table
read twice, names the costliest operator, and the identity check finds a changed select."""

import importlib.util
import json
import sys
from pathlib import Path

import duckdb
import pytest

from metrics_core.paths import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("profile_models", PROJECT_ROOT / "scripts/profile_models.py")
profile_models = importlib.util.module_from_spec(_spec)
sys.modules["profile_models"] = profile_models  # its dataclasses look their module up
_spec.loader.exec_module(profile_models)


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("create schema marts")
    c.execute("create table marts.ev as select i % 997 as user_id, i as v from range(200000) t(i)")
    c.execute("create table marts.us as select i as user_id, i % 7 as grp from range(997) t(i)")
    yield c
    c.close()


def test_digest_counts_inputs_once_and_sees_a_table_read_twice(con):
    sql = (
        "with a as (select user_id, sum(v) s from marts.ev group by 1), "
        "b as (select user_id, count(*) n from marts.ev where v % 2 = 0 group by 1) "
        "select u.grp, sum(a.s), sum(b.n) from marts.us u join a using (user_id) join b using (user_id) "
        "group by 1"
    )
    p = profile_models.explain_analyze(con, sql)
    assert p["inputs"] == {"memory.marts.ev": 200000, "memory.marts.us": 997}
    assert p["input_rows"] == 200997  # ev once, though the plan scans it twice
    assert p["scans"] == 3
    assert p["output_rows"] == 7
    assert p["wall_s"] > 0
    assert p["top"][0]["name"] not in profile_models._WRAPPERS
    assert p["top"][0]["s"] >= p["top"][-1]["s"]


def test_reference_is_a_plain_group_by_of_as_many_rows(con):
    ref = profile_models.reference(con, 300000)
    assert ref["rows"] == 300000
    assert ref["rows_per_s"] == pytest.approx(300000 / ref["wall_s"])


def test_identity_check_finds_a_changed_select(con, capsys):
    con.execute("create table marts.per_user as select user_id, sum(v) s from marts.ev group by 1")
    sql = "select user_id, sum(v) s from marts.ev group by 1"
    node = {"relation_name": "marts.per_user", "compiled_code": sql}
    same = profile_models.identical(con, node, Path("."))
    assert same == {"only_in_select": 0, "only_in_table": 0, "table_rows": 997}
    node["compiled_code"] = "select user_id, sum(v) s from marts.ev where user_id > 0 group by 1"
    changed = profile_models.identical(con, node, Path("."))
    assert changed["only_in_table"] == 1 and changed["only_in_select"] == 0
    profile_models.explain_analyze(con, "select sum(v) from marts.ev")
    con.execute("select 1").fetchall()
    assert capsys.readouterr().out == "", "profiling left on: every later query prints its profile"


def test_heavy_models_adds_any_model_over_its_share_of_the_build(tmp_path: Path):
    nodes = {m: {} for m in ("fct_events", "fct_sessions", "agg_profit_daily", "tiny")}
    build = {"fct_events": 5.0, "fct_sessions": 3.0, "agg_profit_daily": 2.0, "tiny": 0.1}
    assert profile_models.heavy_models(nodes, build) == ["fct_events", "fct_sessions", "agg_profit_daily"]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.metrics.fct_events", "execution_time": 5.0},
        {"unique_id": "test.metrics.not_null_x", "execution_time": 9.0},
    ]}))  # fmt: skip
    assert profile_models.build_seconds(tmp_path) == {"fct_events": 5.0}
