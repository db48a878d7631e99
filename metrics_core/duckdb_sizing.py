"""How big every platform DuckDB connection may get: memory cap and threads, from the machine.

One function, `duckdb_sizing()`, used by the Python connections (resources/connections.py) and
handed to the dbt subprocess through the environment (`dbt_env()`; dbt/profiles.yml reads
METRICS_DUCKDB_MEMORY_LIMIT and METRICS_DUCKDB_THREADS with `env_var`).

Defaults: `memory_limit` = 60% of the machine's memory (MemTotal of /proc/meminfo, or the cgroup's
memory.max when a container sets a lower one; os.sysconf where there is no /proc), `threads` = the
CPUs this process may run on (os.sched_getaffinity, else os.cpu_count()). Both are overridable:
METRICS_DUCKDB_MEMORY_LIMIT (a DuckDB size such as `8GB`, `1500MiB`, or `50%`) and
METRICS_DUCKDB_THREADS (a positive integer); a malformed value is refused, naming the variable.

Why 60% and not a share per process: a Dagster run and the dbt subprocess it starts each open their
own DuckDB instance, but the embedded file takes one writer at a time and the platform holds the
warehouse lock around every connection (resources/warehouse_lock.py; the dbt step holds it for the
subprocess and has closed its own connection first), so only one heavy connection is active at a
time. 60% leaves the rest for that process's Python heap (pandas results, the Dagster run) and for
the other processes of the machine; beyond the cap DuckDB spills to `<db>.tmp` instead of failing.
"""

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MEMORY_ENV = "METRICS_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "METRICS_DUCKDB_THREADS"
MEMORY_SHARE = 0.60
# what DuckDB's memory_limit accepts: a number and a unit (1000- or 1024-based), or a percentage
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(%|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DuckDBSizing:
    memory_limit: str  # as DuckDB takes it, e.g. "14100MiB"
    threads: int

    def config(self) -> dict[str, str | int]:
        """duckdb.connect(config=...) settings."""
        return {"memory_limit": self.memory_limit, "threads": self.threads}

    def env(self) -> dict[str, str]:
        """The same sizing as environment variables, for a subprocess (dbt/profiles.yml reads them)."""
        return {MEMORY_ENV: self.memory_limit, THREADS_ENV: str(self.threads)}


def _memory_bytes(meminfo: str, cgroup_max: str | None) -> int | None:
    """MemTotal (kB) of a /proc/meminfo text, lowered to a numeric cgroup memory.max if smaller."""
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", meminfo, re.MULTILINE)
    total = int(m.group(1)) * 1024 if m else None
    if cgroup_max and cgroup_max.strip().isdigit():
        limit = int(cgroup_max.strip())
        total = limit if total is None else min(total, limit)
    return total


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _sysconf_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def duckdb_sizing(
    env: Mapping[str, str] | None = None,
    *,
    meminfo: str | None = None,
    cgroup_max: str | None = None,
    cpu_count: int | None = None,
) -> DuckDBSizing:
    """The sizing of a platform DuckDB connection on this machine (see the module docstring).

    `env`, `meminfo` (a /proc/meminfo text), `cgroup_max` (a memory.max text) and `cpu_count`
    default to this process's environment and machine; tests inject them."""
    env = os.environ if env is None else env
    raw_mem = env.get(MEMORY_ENV, "").strip()
    if raw_mem:
        if not _SIZE.match(raw_mem):
            raise ValueError(f"{MEMORY_ENV}={raw_mem!r} is not a DuckDB memory size "
                             "(a number and a unit such as 8GB, 1500MiB, or a percentage such as 50%)")
        memory = raw_mem
    else:
        if meminfo is None and cgroup_max is None:
            meminfo, cgroup_max = _read("/proc/meminfo") or "", _read("/sys/fs/cgroup/memory.max")
        total = _memory_bytes(meminfo or "", cgroup_max)
        if total is None:
            total = _sysconf_memory()
        # without any figure, DuckDB's own percentage of what it detects
        memory = f"{int(total * MEMORY_SHARE) // 2**20}MiB" if total else f"{int(MEMORY_SHARE * 100)}%"
    raw_threads = env.get(THREADS_ENV, "").strip()
    if raw_threads:
        if not raw_threads.isdigit() or int(raw_threads) < 1:
            raise ValueError(f"{THREADS_ENV}={raw_threads!r} is not a positive whole number of threads")
        threads = int(raw_threads)
    else:
        threads = cpu_count if cpu_count is not None else _cpus()
    return DuckDBSizing(memory_limit=memory, threads=max(int(threads), 1))


def dbt_env() -> dict[str, str]:
    """Environment for a dbt subprocess: this machine's sizing (an explicit override kept as given)."""
    return duckdb_sizing().env()


if __name__ == "__main__":  # `eval "$(python -m metrics_core.duckdb_sizing)"` before a hand-run dbt
    for k, v in dbt_env().items():
        print(f"export {k}={v}")
    sys.exit(0)
