"""Warehouse.session: one DuckDB connection for a step's many connect() calls, the lock held for the
block, and a failed block's open transaction rolled back so the rest of the step starts clean."""

from pathlib import Path

import duckdb
import pytest

import resources.connections as connections
from resources.warehouse import Warehouse
from resources.warehouse_lock import _held


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(backend="duckdb", duckdb_path=str(tmp_path / "w.duckdb"))


def test_connects_inside_a_session_share_one_connection(wh, monkeypatch):
    opened = []
    real = connections.connect_duckdb
    monkeypatch.setattr(connections, "connect_duckdb", lambda p, **kw: opened.append(p) or real(p, **kw))
    with wh.session("step"):
        with wh.connect() as a:
            a.execute("create table t as select 1 as x")
        with wh.connect() as b:
            assert b is a
            assert b.execute("select x from t").fetchall() == [(1,)]
        assert wh.query_df("select count(*) as n from t")["n"].iloc[0] == 1
        assert str(Path(wh.path).resolve()) in {str(Path(k).resolve()) for k in _held}  # lock held
    assert len(opened) == 1
    with wh.connect() as c:  # after the session: a connection of its own again
        assert c.execute("select x from t").fetchall() == [(1,)]
    assert len(opened) == 2
    assert not _held, "the session released the warehouse lock"


def test_a_failed_block_leaves_no_aborted_transaction(wh):
    with wh.session("step"):
        with pytest.raises(duckdb.CatalogException), wh.connect() as con:
            con.execute("begin transaction")
            con.execute("create table half as select 1 as x")
            con.execute("select * from no_such_table")
        with wh.connect() as con:  # the next check of the step still works
            assert con.execute("select 1").fetchall() == [(1,)]
            names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            assert "half" not in names  # rolled back, not committed


def test_sessions_nest_as_one(wh):
    with wh.session("outer"), wh.connect() as a:
        with wh.session("inner"), wh.connect() as b:
            assert b is a
        assert a.execute("select 1").fetchall() == [(1,)]  # the inner block did not close it
