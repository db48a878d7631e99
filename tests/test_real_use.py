"""Real use: `dagster dev` up (webserver + daemon: run queue, schedule, sensors, run monitoring), work
launched the way users launch it (the UI's GraphQL API and the `metrics` CLI), all at once.

The soak: after a full build, a one-day run, a 3-day backfill, a single-asset materialization and
`metrics checks run` go in together. Then: 0 failed sensor ticks, 0 lock errors in any log, 0 failed
runs, 0 incidents, and every mart and investor table equal to the full build. The kill test: a run
killed with `kill -9` during dbt and during publication is marked FAILURE by run
monitoring (the queue never stalls), routed once, leaves every table as it was, and a re-run gives
the full build's checksums.

The world is small and in the past (Feb-Mar 2025). Every run says, with the run clock tag
`metrics/now`, that it is the morning after the world's last day, as the daily runs of that week
did; the freshness daemon, which only knows the wall clock, is off in this instance (every SLA of
a 2025 world is missed today; freshness routing is tested in tests/test_alerting_sensors.py).
Dagster's own storage lives on tmpfs when there is one: creating a 35-day run writes ~1,600
"planned" events one commit each, which took minutes on a busy disk.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster._core.events import DagsterEventType
from dagster._core.instance.ref import InstanceRef

from metrics_assets.cli.ui_client import DagsterUI
from metrics_core.paths import PROJECT_ROOT
from resources.incident_store import IncidentStore

SF = 0.05  # early 2025 is the launch ramp: below ~0.04 a day has fewer orders than the volume gates judge
SENSOR_INTERVAL = 10  # seconds between ticks of every alert sensor in the test's config copy (30-60 shipped)
SENSOR_TICK = SENSOR_INTERVAL + 8  # long enough for one more tick of each
START, END = date(2025, 2, 1), date(2025, 3, 7)  # 35 days: same-weekday baselines for the last week
HISTORY = ("raw/users", "raw/account_closures", "raw/experiment_assignments")
SENSORS = ("alert_on_failed_runs", "alert_on_check_failures", "alert_on_freshness_failures",
           "alert_on_sla_at_risk", "escalate_open_incidents")
LOCK_WORDS = ("Could not set lock", "Conflicting lock", "WarehouseBusy")
NOW = {"metrics/now": f"{END + timedelta(days=1)}T06:00:00Z"}  # the morning after the last day
RUN_TIMEOUT_S = 1200


def _range(a: date, b: date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": a.isoformat(),
            "dagster/asset_partition_range_end": b.isoformat()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    def __init__(self, root: Path) -> None:
        self.root = root
        shm = Path("/dev/shm")
        self.home = Path(tempfile.mkdtemp(prefix="real_use_home_", dir=shm if shm.is_dir() else root))
        self.data, self.config = root / "data", root / "config"
        shutil.copytree(PROJECT_ROOT / "config", self.config)
        world = yaml.safe_load((self.config / "world.yaml").read_text())
        world["scale_factor"] = SF
        (self.config / "world.yaml").write_text(yaml.safe_dump(world, sort_keys=False))
        alerting = yaml.safe_load((self.config / "alerting.yaml").read_text())
        alerting["sensors"]["minimum_interval_seconds"] = dict.fromkeys(
            alerting["sensors"]["minimum_interval_seconds"], SENSOR_INTERVAL)  # ticks within the test
        (self.config / "alerting.yaml").write_text(yaml.safe_dump(alerting, sort_keys=False))
        instance_cfg = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
        instance_cfg["freshness"] = {"enabled": False}
        instance_cfg["run_monitoring"]["poll_interval_seconds"] = 5
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(instance_cfg))
        self.env = {**os.environ, "DAGSTER_HOME": str(self.home), "METRICS_DATA_DIR": str(self.data),
                    "METRICS_CONFIG_DIR": str(self.config), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        self.env.pop("METRICS_DUCKDB_PATH", None)
        self.env.pop("METRICS_OPS_STORE", None)
        self.port = _free_port()
        self.ui = DagsterUI(port=self.port)
        self.log = self.home / "dagster-dev.log"
        self.server: subprocess.Popen | None = None

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(self.port),
               "-w", str(PROJECT_ROOT / "workspace.yaml")]
        with open(self.log, "ab") as log:
            self.server = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        self.ui.wait_until_up(300, alive=lambda: self.server.poll() is None)

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def run(self, a: date, b: date, selection=None) -> str:
        return self.ui.launch("all_pipelines", tags={**_range(a, b), **NOW},
                              asset_selection=[s.split("/") for s in selection] if selection else None)

    def wait(self, run_id: str) -> str:
        return self.ui.wait(run_id, RUN_TIMEOUT_S).status

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "metrics_assets.cli", *args], cwd=PROJECT_ROOT,
                              env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)

    def checksums(self) -> dict[str, tuple]:
        """Rows and an order-free checksum of every mart and investor table (publication stamps aside)."""
        out = {}
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('marts', 'investor', 'intermediate') "
                "and table_name not like '%dbt_tmp%'"
            ).fetchall()
            for schema, table in tables:
                cols = [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and column_name not like '\\_published%' escape '\\' "
                    "order by ordinal_position", [schema, table]).fetchall()]
                sql = f"select count(*), sum(hash({', '.join(cols)})) from {schema}.{table}"
                row = con.execute(sql).fetchone()
                out[f"{schema}.{table}"] = (row[0], row[1])
        return out

    def why(self, run_id: str) -> str:
        """The run's URL and the errors of its failed steps, for assertion messages."""
        recs = self.instance().get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
        errors = []
        for r in recs:
            err = getattr(r.event_log_entry.dagster_event.event_specific_data, "error", None)
            while err is not None and err.cause is not None:
                err = err.cause
            errors.append(f"{r.event_log_entry.step_key}: {err.message.strip()[:300] if err else '?'}")
        return f"{self.ui.run_url(run_id)} {errors}"

    def incidents(self):
        """Incidents about the runs and data (not `sla_at_risk`: those judge the wall clock of today
        against deadlines, while this world's days are in 2025, so they are open throughout)."""
        path = self.data / "ops.sqlite"
        if not path.exists():
            return []
        with IncidentStore.open(path) as store:
            return [i for i in store.list(limit=1000) if i.kind.value != "sla_at_risk"]

    def settle(self, timeout_s: float = 180) -> None:
        """Wait until every alert sensor finished a tick that started after now."""
        t0, deadline = time.time(), time.monotonic() + timeout_s
        inst = self.instance()
        while True:
            done = set()
            for state in inst.all_instigator_state():
                if state.name in SENSORS:
                    ticks = inst.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
                    if any(t.timestamp > t0 and t.status.value in ("SUCCESS", "SKIPPED") for t in ticks):
                        done.add(state.name)
            if done == set(SENSORS):
                return
            assert time.monotonic() < deadline, f"sensors {set(SENSORS) - done} did not tick in {timeout_s} s"
            time.sleep(2)

    def failed_ticks(self) -> dict[str, int]:
        inst = self.instance()
        out = {}
        for state in inst.all_instigator_state():
            if state.name in SENSORS:
                ticks = inst.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000)
                out[state.name] = (len(ticks), sum(t.status.value == "FAILURE" for t in ticks))
        return out

    def log_lock_errors(self) -> list[str]:
        logs = [self.log, *self.home.rglob("*.err"), *self.home.rglob("*.out")]
        return [f"{p.name}: {line.strip()[:200]}" for p in logs if p.is_file()
                for line in p.read_text(errors="replace").splitlines() if any(w in line for w in LOCK_WORDS)]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    env = Live(tmp_path_factory.mktemp("real_use"))
    try:
        env.start()  # inside the try: a code location that fails to load must not leak dagster dev
        hist = env.run(date(2025, 1, 1), START - timedelta(days=1), selection=HISTORY)
        assert env.wait(hist) == "SUCCESS", env.why(hist)
        full = env.run(START, END)
        assert env.wait(full) == "SUCCESS", env.why(full)
        env.full_build = env.checksums()
        env.settle()  # what the first build raised is routed before the soak counts incidents
        yield env
    finally:
        env.stop()


def test_soak_everything_at_once(live):
    before_incidents = len(live.incidents())
    t0 = time.monotonic()
    day = END - timedelta(days=1)
    launched = [live.run(day, day)]                                            # one day, whole graph
    # a connected selection, as a user shift-clicks it in the graph: raw -> staging -> marts -> investor
    backfill = live.ui.backfill([(END - timedelta(days=i)).isoformat() for i in (4, 3, 2)],  # 3 days
                                [["raw", "orders"], ["stg_orders"], ["fct_order_profit"],
                                 ["agg_profit_daily"], ["investor", "profit_daily"]], tags=NOW)
    launched.append(live.run(END - timedelta(days=5), END - timedelta(days=5), selection=["fct_events"]))
    checks = live.cli("checks", "run", "--start", (END - timedelta(days=6)).isoformat(),
                      "--end", END.isoformat(), "--report-dir", str(live.root / "report"),
                      "--now", NOW["metrics/now"])
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        status, runs = live.ui.backfill_runs(backfill)
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED") and runs:
            break
        assert time.monotonic() < deadline, f"backfill {backfill} still {status}"
        time.sleep(3)
    launched += [r.run_id for r in runs]
    statuses = {r: live.wait(r) for r in launched}
    time.sleep(SENSOR_TICK)  # the sensors tick once more over everything that finished
    elapsed = time.monotonic() - t0

    assert all(s == "SUCCESS" for s in statuses.values()), [live.why(r) for r, s in statuses.items()
                                                             if s != "SUCCESS"]
    inst = live.instance()
    first, last = (END - timedelta(days=4)).isoformat(), (END - timedelta(days=2)).isoformat()
    for r in runs:  # the daemon runs the backfill level by level; each run covers the whole range
        tags = inst.get_run_by_id(r.run_id).tags
        assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) \
            == (first, last), tags
    assert checks.returncode in (0, 1), checks.stderr
    assert "could not evaluate" not in checks.stdout + checks.stderr
    ticks = live.failed_ticks()
    assert set(ticks) == set(SENSORS) and all(n > 0 and failed == 0 for n, failed in ticks.values()), ticks
    assert live.log_lock_errors() == []
    # the first build may have noticed days held back for too little history; the soak adds nothing
    assert len(live.incidents()) == before_incidents, [i.summary for i in live.incidents()]
    assert live.checksums() == live.full_build
    print(f"soak: {elapsed:.0f} s, runs {statuses}, sensor ticks {ticks}, checks rc {checks.returncode}")


def _step_started(inst: dg.DagsterInstance, run_id: str, phase: str) -> bool:
    started = {r.event_log_entry.step_key
               for r in inst.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records}
    if phase == "dbt":
        return "metrics_dbt_models" in started
    return any((k or "").startswith("investor__") for k in started)  # publication


def _worker_pid(inst: dg.DagsterInstance, run_id: str) -> int:
    (rec,) = inst.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    return rec.event_log_entry.dagster_event.pid


def _kill_at(live, inst: dg.DagsterInstance, run_id: str, phase: str) -> float:
    """kill -9 the run's worker once `phase` started; seconds until run monitoring marked it FAILURE."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not _step_started(inst, run_id, phase):
        assert live.ui.run(run_id).status in ("QUEUED", "STARTING", "STARTED"), f"run ended before {phase}"
        assert time.monotonic() < deadline
        time.sleep(0.5)
    os.kill(_worker_pid(inst, run_id), signal.SIGKILL)
    t_kill = time.monotonic()
    assert live.wait(run_id) == "FAILURE"
    return time.monotonic() - t_kill


def test_kill_9_is_detected_routed_once_and_harmless(live):
    """Killed during dbt, then its re-run during publication, then a clean re-run. Each kill: marked
    FAILURE (the queue moves on), nothing changed, routed once. (A kill during a check step is the
    same worker death as these two; dbt and publication are the steps that write.)"""
    inst = live.instance()
    day = END - timedelta(days=1)
    detected, killed = {}, []
    for phase in ("dbt", "publication"):
        run_id = live.run(day, day)
        detected[phase] = _kill_at(live, inst, run_id, phase)
        killed.append(run_id)
        assert live.checksums() == live.full_build, f"kill during {phase} left a table changed"
    time.sleep(SENSOR_TICK)  # the failed-run sensor ticks over the two failures
    first = {i.id: i.occurrences for i in live.incidents() if set(i.run_ids) & set(killed)}
    assert first and all(i.kind.value == "run_failure" for i in live.incidents() if i.id in first)
    assert {r for i in live.incidents() if i.id in first for r in i.run_ids} >= set(killed)
    time.sleep(SENSOR_TICK)
    again = {i.id: i.occurrences for i in live.incidents() if set(i.run_ids) & set(killed)}
    assert again == first, "each killed run is routed once"

    rerun = live.run(day, day)
    assert live.wait(rerun) == "SUCCESS", live.why(rerun)
    assert live.checksums() == live.full_build
    print(f"kill -9: marked FAILURE after {detected} s; {len(first)} incident(s) for 2 killed runs")
