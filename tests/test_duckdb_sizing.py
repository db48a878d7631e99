"""DuckDB memory cap and threads from the machine (metrics_core/duckdb_sizing.py): injected
/proc/meminfo, cgroup limit and CPU count, so nothing depends on the machine running the tests."""

import os
from pathlib import Path

import duckdb
import pytest

from metrics_core.duckdb_sizing import MEMORY_ENV, THREADS_ENV, duckdb_sizing

MEMINFO_24G = "MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n"


def test_default_is_a_share_of_memtotal_and_the_cpu_count():
    s = duckdb_sizing({}, meminfo=MEMINFO_24G, cpu_count=8)
    assert s.memory_limit == f"{24576000 * 1024 * 6 // 10 // 2**20}MiB" == "14400MiB"
    assert s.threads == 8
    assert s.config() == {"memory_limit": "14400MiB", "threads": 8}
    assert s.env() == {MEMORY_ENV: "14400MiB", THREADS_ENV: "8"}


def test_a_lower_cgroup_limit_wins_over_memtotal():
    s = duckdb_sizing({}, meminfo=MEMINFO_24G, cgroup_max="4294967296\n", cpu_count=2)
    assert s.memory_limit == "2457MiB"  # 60% of 4 GiB
    unlimited = duckdb_sizing({}, meminfo=MEMINFO_24G, cgroup_max="max\n", cpu_count=2)
    assert unlimited.memory_limit == "14400MiB"


def test_explicit_overrides_win():
    env = {MEMORY_ENV: "3GB", THREADS_ENV: "3"}
    s = duckdb_sizing(env, meminfo=MEMINFO_24G, cpu_count=16)
    assert (s.memory_limit, s.threads) == ("3GB", 3)
    assert duckdb_sizing({MEMORY_ENV: " 50% "}, meminfo=MEMINFO_24G, cpu_count=1).memory_limit == "50%"


@pytest.mark.parametrize("value", ["lots", "2 GBs", "-1GB", "GB", "2e9"])
def test_a_malformed_memory_override_is_refused_naming_the_variable(value: str):
    with pytest.raises(ValueError, match=MEMORY_ENV):
        duckdb_sizing({MEMORY_ENV: value}, meminfo=MEMINFO_24G, cpu_count=2)


@pytest.mark.parametrize("value", ["0", "two", "1.5", "-2"])
def test_a_malformed_threads_override_is_refused_naming_the_variable(value: str):
    with pytest.raises(ValueError, match=THREADS_ENV):
        duckdb_sizing({THREADS_ENV: value}, meminfo=MEMINFO_24G, cpu_count=2)


def test_duckdb_takes_the_sizing(tmp_path):
    """Every form the function returns or accepts is a setting DuckDB itself accepts."""
    for env in ({}, {MEMORY_ENV: "1500MiB", THREADS_ENV: "1"}, {MEMORY_ENV: "50%"}):
        cfg = duckdb_sizing(env, meminfo=MEMINFO_24G, cpu_count=2).config()
        with duckdb.connect(str(tmp_path / "w.duckdb"), config=cfg) as con:
            threads = con.execute("select current_setting('threads')").fetchone()[0]
        assert int(threads) == cfg["threads"]


def test_platform_connections_and_dbt_get_the_same_sizing(monkeypatch, tmp_path):
    """resources/connections.py configures its connections with it; Warehouse.hold exports it for
    the dbt subprocess (dbt/profiles.yml reads the variables)."""
    from resources.connections import connect_duckdb, duckdb_config
    from resources.warehouse import Warehouse

    monkeypatch.setenv(MEMORY_ENV, "1500MiB")
    monkeypatch.setenv(THREADS_ENV, "1")
    assert duckdb_config() == {"memory_limit": "1500MiB", "threads": 1}
    con = connect_duckdb(str(tmp_path / "w.duckdb"))
    try:
        sql = "select current_setting('memory_limit'), current_setting('threads')"
        mem, threads = con.execute(sql).fetchone()
    finally:
        con.close()
    assert (mem, int(threads)) == ("1.4 GiB", 1)

    monkeypatch.delenv(MEMORY_ENV)
    monkeypatch.delenv(THREADS_ENV)
    with Warehouse(backend="duckdb", duckdb_path=str(tmp_path / "w.duckdb")).hold("test"):
        assert os.environ[MEMORY_ENV] == duckdb_sizing().memory_limit
        assert os.environ[THREADS_ENV] == str(duckdb_sizing().threads)
    # monkeypatch restores both variables afterwards (they were set, then deleted, by it)
    text = (Path(__file__).parent.parent / "dbt" / "profiles.yml").read_text()
    assert f"env_var('{MEMORY_ENV}'" in text and f"env_var('{THREADS_ENV}'" in text
