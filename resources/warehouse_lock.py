"""One writer at a time on the embedded DuckDB file, by design rather than by luck.

DuckDB lets one process open a database file for writing and refuses every other process (readers
too) while it is open. Every platform process that opens the file therefore first takes an
exclusive advisory lock on `<file>.lock` (fcntl.flock; the kernel releases it when the holder dies,
even on `kill -9`) and writes who it is to `<file>.holder`. A second process waits on the lock with
a visible message naming the holder, and after its timeout raises `WarehouseBusy`, which names the
holder too. Dagster runs that write the warehouse are also serialised by the run queue
(dagster.yaml), so inside a run the wait is only ever for a short CLI command.

The lock is re-entrant within a process: nested `connect()`s and a step that holds the file
around a `dbt build` subprocess share one hold.
"""

import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_TIMEOUT_S = 900.0
POLL_S = 0.2


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file; never a data problem, never a check result."""


def lock_timeout_s() -> float:
    """METRICS_WAREHOUSE_LOCK_TIMEOUT (seconds) or the default."""
    raw = os.environ.get("METRICS_WAREHOUSE_LOCK_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"METRICS_WAREHOUSE_LOCK_TIMEOUT={raw!r} is not a number of seconds") from exc


class _Held:
    def __init__(self, fd: int) -> None:
        self.fd, self.depth = fd, 0


_held: dict[str, _Held] = {}
_guard = threading.RLock()


def holder_of(path: str | Path) -> dict[str, str]:
    """Who last took the lock on `path` (pid, what, run_id, since); {} when unknown."""
    try:
        return json.loads(Path(f"{path}.holder").read_text())
    except (OSError, ValueError):
        return {}


def describe(holder: dict[str, str]) -> str:
    if not holder:
        return "another process"
    run = f"run {holder['run_id']} " if holder.get("run_id") else ""
    return f"{run}({holder.get('what') or 'unknown'}, pid {holder.get('pid')}, since {holder.get('since')})"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def hold(
    path: str | Path,
    *,
    what: str = "",
    run_id: str = "",
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] = _stderr,
) -> Iterator[None]:
    """Hold the warehouse file at `path` exclusively for the duration of the block."""
    key = os.path.abspath(str(path))
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield
        finally:
            with _guard:
                held.depth -= 1
        return
    os.makedirs(os.path.dirname(key), exist_ok=True)
    fd = os.open(f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, key, timeout_s if timeout_s is not None else lock_timeout_s(), on_wait)
    except BaseException:
        os.close(fd)
        raise
    me = {"pid": str(os.getpid()), "what": what, "run_id": run_id,
          "since": datetime.now(UTC).isoformat(timespec="seconds")}
    Path(f"{key}.holder").write_text(json.dumps(me))
    held = _Held(fd)
    held.depth = 1
    with _guard:
        _held[key] = held
    try:
        yield
    finally:
        with _guard:
            held.depth -= 1
            release = held.depth == 0
            if release:
                del _held[key]
        if release:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _acquire(fd: int, key: str, timeout_s: float, on_wait: Callable[[str], None]) -> None:
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = describe(holder_of(key))
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"warehouse {key} is held by {holder}; gave up after {timeout_s:.0f} s "
                    "(METRICS_WAREHOUSE_LOCK_TIMEOUT). Wait for that run to finish, or stop it in the "
                    "Dagster UI."
                ) from None
            if not told:
                on_wait(f"[metrics] warehouse {key} is in use by {holder}; waiting up to "
                        f"{timeout_s:.0f} s ...")
                told = True
            time.sleep(POLL_S)
