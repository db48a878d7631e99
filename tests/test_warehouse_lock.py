"""The warehouse lock: a second process waits with a message naming the holder, then fails clearly;
the lock is re-entrant in a process, dies with its holder, and a busy file is never a check result."""

import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest

from checks.core import evaluate
from checks.registry import catalogue
from resources.warehouse import Warehouse
from resources.warehouse_lock import WarehouseBusy, hold, holder_of

HOLDER = textwrap.dedent(
    """
    import sys, time
    from resources.warehouse_lock import hold
    with hold(sys.argv[1], what="test holder", run_id="run-abc123"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_waits_names_the_holder_then_times_out(tmp_path):
    db = tmp_path / "w.duckdb"
    proc = _holder(db, 30)
    try:
        said: list[str] = []
        t0 = time.monotonic()
        with pytest.raises(WarehouseBusy) as err, hold(db, timeout_s=1.0, on_wait=said.append):
            pass
        assert time.monotonic() - t0 >= 1.0
        assert "run run-abc123" in str(err.value) and "test holder" in str(err.value)
        assert len(said) == 1 and "waiting up to 1 s" in said[0] and "run-abc123" in said[0]
        assert holder_of(db)["pid"] == str(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_waiter_gets_the_file_when_the_holder_finishes(tmp_path):
    db = tmp_path / "w.duckdb"
    proc = _holder(db, 1.5)
    said: list[str] = []
    with hold(db, timeout_s=30, on_wait=said.append, what="waiter"):
        assert holder_of(db)["what"] == "waiter"
    assert said, "a waiter says that it waits"
    proc.wait()


def test_kill_9_of_the_holder_releases_the_lock(tmp_path):
    db = tmp_path / "w.duckdb"
    proc = _holder(db, 60)
    proc.kill()  # SIGKILL: the kernel drops the flock with the process
    proc.wait()
    with hold(db, timeout_s=2):
        pass


def test_reentrant_within_a_process(tmp_path):
    wh = Warehouse(backend="duckdb", duckdb_path=str(tmp_path / "w.duckdb"))
    with wh.hold("outer"), wh.connect() as con, wh.connect() as con2:
        con.execute("create table t as select 1 as x")
        assert con2.execute("select x from t").fetchone() == (1,)


def test_busy_warehouse_is_raised_not_recorded_as_a_check_result(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    wh = Warehouse(backend="duckdb", duckdb_path=str(db))
    monkeypatch.setenv("METRICS_WAREHOUSE_LOCK_TIMEOUT", "0.5")
    proc = _holder(db, 30)
    try:
        check = next(c for c in catalogue().checks if c.is_raw)
        with pytest.raises(WarehouseBusy):
            evaluate(check, wh, [date(2026, 9, 1)])
    finally:
        proc.kill()
        proc.wait()


def test_lock_held_outside_the_platform_names_duckdb_s_words(tmp_path):
    """A DuckDB shell holding the file (no platform lock) gives WarehouseBusy, not a data error."""
    db = tmp_path / "w.duckdb"
    code = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('open', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "open"
    try:
        with pytest.raises(WarehouseBusy, match="held outside the platform"), \
                Warehouse(backend="duckdb", duckdb_path=str(db)).connect():
            pass
    finally:
        proc.kill()
        proc.wait()
