"""Dagster's default run launcher, plus a worker health check so run monitoring can see a dead run.

Open-source Dagster's DefaultRunLauncher has no health check, so run monitoring cannot tell that a
run worker was killed (`kill -9`, the OOM killer): the run stays STARTED forever and the queue,
whose warehouse pool admits one run at a time, stalls behind it. The worker's pid is in the run's
RUN_START event; this launcher reports the worker FAILED once that process is gone (or is a
zombie, or the pid was reused by a process started after the run), and the monitoring daemon marks
the run FAILURE, which the failed-run sensor routes once. Runs launched on this host only (which is
what the default launcher does).
"""

import os
from pathlib import Path

from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun

PID_REUSE_SLACK_S = 2.0


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def process_state(pid: int) -> tuple[str, float] | None:
    """(state letter, start time as a Unix timestamp) of `pid`, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return fields[0], started


def worker_alive(pid: int, run_started_at: float) -> bool:
    if not Path("/proc").is_dir():  # not Linux: existence is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state = process_state(pid)
    if state is None or state[0] in ("Z", "X"):
        return False
    return state[1] <= run_started_at + PID_REUSE_SLACK_S


class MonitoredRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose run workers run monitoring can check (dagster.yaml run_launcher)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        records = self._instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_START, limit=1
        ).records
        if not records:  # not started by a worker yet: start_timeout_seconds covers that case
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no RUN_START event yet")
        entry = records[0].event_log_entry
        pid = entry.dagster_event.pid if entry.dagster_event else None
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run worker recorded no pid")
        if worker_alive(pid, entry.timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is alive")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"run worker pid {pid} is gone (killed or crashed); the run cannot finish",
            run_worker_id=str(pid),
        )
