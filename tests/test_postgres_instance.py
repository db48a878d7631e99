"""The production instance (deploy/dagster.yaml) against a real PostgreSQL.

A PostgreSQL 16 from the `pgserver` wheel (no system package) listens on 127.0.0.1 on a free port
with password (scram) authentication; Dagster logs in over TCP as its own role, with every
credential coming from the DAGSTER_PG_* variables deploy/dagster.yaml reads. As root (CI), where
Postgres refuses to run, pgserver runs initdb and the server as its system user `pgserver`. The
server failing to start fails the test with its log: never a skip.

Shown: the file loads as is (Postgres run, event-log and schedule storage, the queued coordinator,
the warehouse pool, the project's launcher); one partition of a project asset materializes and its
run and events are rows in `runs` and `event_logs`; the alert sensors, evaluated against this
instance, route a failed run to one incident and a good re-run resolves it; the alerting store
(resources/incident_store.py through resources/ops_db.py) on Postgres: the engine opens, pages,
acks and resolves an incident there exactly as on SQLite.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import psycopg2.errors
import pytest
from dagster._core.events import DagsterEventType
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from pgserver import PostgresServer
from pgserver._commands import pg_ctl
from pgserver.utils import PostmasterInfo, find_suitable_port, find_suitable_socket_dir

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_assets.alerting.sensors import build_alert_sensors
from metrics_assets.ingest.raw_assets import raw_key
from metrics_assets.orchestration.run_launcher import MonitoredRunLauncher
from metrics_core.alerting_model import Failure, FailureKind, Status
from metrics_core.paths import PROJECT_ROOT
from resources.incident_store import IncidentStore
from resources.ops_db import connect_postgres
from resources.warehouse import POOL
from tests.fakes import alert_defs as fx
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import PEOPLE, ist
from tests.world import definitions, run_range

DEPLOY_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"
PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
ROLE, PASSWORD = "dagster", "s3cret-for-tests"
DAY = date(2026, 8, 3)
AM = "alex.mehta@metrics.example.com"


class TcpPostgresServer(PostgresServer):
    """pgserver's server (initdb, the non-root system user as root, cleanup), started on
    127.0.0.1:<port> instead of a unix socket only. The socket stays for the superuser (trust, local
    only); TCP connections need a password."""

    port: int = 0

    def ensure_postgres_running(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        socket_dir = find_suitable_socket_dir(self.pgdata, self.runtime_path)
        if self.system_user is not None and socket_dir != self.pgdata:  # as pgserver does
            socket_dir.chmod(0o777)
        self.port = find_suitable_port("127.0.0.1")
        args = ["-w", "-o", f"-h 127.0.0.1 -p {self.port} -k {socket_dir}", "-l", str(self.log), "start"]
        try:
            pg_ctl(args, pgdata=self.pgdata, user=self.system_user, timeout=60)
        except Exception as exc:
            log = self.log.read_text() if self.log.exists() else "(no log)"
            raise RuntimeError(f"PostgreSQL did not start ({exc}); its log:\n{log}") from exc
        self._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)
        assert self._postmaster_info is not None and self._postmaster_info.status == "ready"


@dataclass
class Postgres:
    server: TcpPostgresServer

    @property
    def port(self) -> int:
        return self.server.port

    def admin(self, sql: str, args=()) -> None:
        """A statement as the superuser, over the local socket (autocommit: CREATE DATABASE)."""
        info = self.server.get_postmaster_info()
        con = psycopg2.connect(host=str(info.socket_dir), port=self.port, user="postgres", dbname="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(sql, args)
        finally:
            con.close()

    def rows(self, db: str, sql: str, args=()) -> list[tuple]:
        """Rows read as the deployment's role, over TCP with its password (as Dagster connects)."""
        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=ROLE, password=PASSWORD, dbname=db)
        try:
            with con.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            con.close()

    def create_db(self, name: str) -> str:
        self.admin(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return name

    def url(self, db: str) -> str:
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{db}"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    pgdata = tmp_path_factory.mktemp("pg").resolve() / "pgdata"
    pgdata.mkdir()  # as pgserver.get_server does
    try:
        server = TcpPostgresServer(pgdata, cleanup_mode="delete")
    except Exception as exc:  # never skipped: CI must run this against a real server
        pytest.fail(f"could not start PostgreSQL with pgserver on 127.0.0.1: {exc!r}", pytrace=False)
    pg = Postgres(server)
    pg.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", [PASSWORD])
    try:
        yield pg
    finally:
        server.cleanup()


_db_count = 0


@pytest.fixture
def pg_instance(postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """deploy/dagster.yaml, unchanged, in a fresh DAGSTER_HOME; DAGSTER_PG_* point at a fresh
    database of the test server. Returns (instance, database name)."""
    global _db_count
    _db_count += 1
    db = postgres.create_db(f"dagster_{_db_count}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY_YAML, home / "dagster.yaml")
    env = dict(zip(PG_ENV, ("127.0.0.1", str(postgres.port), ROLE, PASSWORD, db), strict=True))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        yield instance, db
    finally:
        instance.dispose()


def test_deploy_yaml_loads_as_the_production_instance(pg_instance):
    instance, _ = pg_instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert isinstance(instance.run_launcher, MonitoredRunLauncher)
    assert instance.run_monitoring_enabled
    assert not instance.telemetry_enabled
    settings = instance.get_concurrency_config()
    assert settings.pool_config.pool_granularity.value == "run"
    assert settings.pool_config.default_pool_limit == 4  # docs/deploy.md: the Snowflake value
    assert instance.event_log_storage.get_concurrency_info(POOL).slot_count in (0, 4)


def test_a_partition_materializes_into_postgres(pg_instance, postgres, tmp_path, monkeypatch):
    instance, db = pg_instance
    monkeypatch.setenv("METRICS_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))  # definitions() sets it
    defs = definitions(tmp_path / "warehouse.duckdb")
    key = raw_key("users")
    res = run_range(defs, instance, DAY, DAY, selection=[key])
    assert res.success
    assert instance.get_materialized_partitions(key) == {DAY.isoformat()}

    (run,) = postgres.rows(db, "SELECT run_id, status FROM runs")
    assert run == (res.run_id, "SUCCESS")
    events = postgres.rows(db, "SELECT asset_key, partition FROM event_logs "
                   "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'", [res.run_id])
    assert events == [(key.to_string(), DAY.isoformat())]
    kinds = {r[0] for r in postgres.rows(db, "SELECT DISTINCT dagster_event_type FROM event_logs "
                                 "WHERE run_id = %s", [res.run_id])}
    stored = {DagsterEventType.RUN_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.RUN_SUCCESS,
              DagsterEventType.ASSET_CHECK_EVALUATION}  # the source contract checked the day
    assert {t.value for t in stored} <= kinds

    # the alert sensors over the real graph read this run and its check from Postgres: nothing to
    # route (SLA-at-risk judges real deadlines against the wall clock: tests/test_alerting_sensors.py)
    h = SensorHarness(instance, tmp_path / "ops.sqlite", defs)
    for name in h.sensors.keys() - {"alert_on_sla_at_risk"}:
        h.tick(name)
        assert h.cursors[name] is not None or name == "escalate_open_incidents", name
    assert h.incidents() == []


class SensorHarness:
    """The project's alert sensors over the tagged test Definitions, on the Postgres instance."""

    def __init__(self, instance: dg.DagsterInstance, store, defs: dg.Definitions = fx.DEFS) -> None:
        self.instance, self.store = instance, store
        runtime = AlertRuntime(
            clock=fx.OffsetClock(), store_path=lambda: store, lookup=lambda roles, s: fx.StaticLookup(),
            calendar=lambda s: fx.FixedCalendar(working=True), env={},
        )
        self.sensors = {s.name: s for s in build_alert_sensors(runtime)}
        self.repo = defs.get_repository_def()
        self.cursors: dict[str, str | None] = {}

    def tick(self, name: str) -> None:
        ctx = dg.build_sensor_context(instance=self.instance, repository_def=self.repo,
                                      cursor=self.cursors.get(name))
        self.sensors[name](ctx)
        self.cursors[name] = ctx.cursor

    def run(self, selection: str, faults=()) -> dg.ExecuteInProcessResult:
        fx.FAULTS.clear()
        fx.FAULTS.update(faults)
        try:
            return dg.materialize(fx.ASSETS + fx.CHECKS, selection=selection, instance=self.instance,
                                  raise_on_error=False)
        finally:
            fx.FAULTS.clear()

    def incidents(self):
        with IncidentStore.open(self.store) as s:
            return [(i, [(e.event, e.level, e.recipient) for e in s.events(i.id)
                         if e.event in ("page", "notify", "role")]) for i in s.list()]


def test_alert_sensors_route_a_failed_run_from_postgres(pg_instance, postgres):
    """Instance and alerting store both on Postgres, as docs/deploy.md deploys them."""
    instance, db = pg_instance
    h = SensorHarness(instance, postgres.url(postgres.create_db(f"{db}_ops")))
    failed = h.run("*agg_profit_inv", faults={"agg_profit_inv"})
    assert not failed.success
    assert postgres.rows(db, "SELECT status FROM runs WHERE run_id = %s", [failed.run_id]) == [("FAILURE",)]
    h.tick("alert_on_failed_runs")
    h.tick("alert_on_failed_runs")  # the cursor (stored by the test, as the daemon would) holds
    ((inc, deliveries),) = h.incidents()
    assert (inc.pipeline, inc.kind, inc.severity, inc.subjects) == (
        "profit_agg", FailureKind.RUN_FAILURE, "sev1", ["agg_profit_inv"])
    assert inc.run_ids == [failed.run_id]
    assert deliveries == [("page", "primary_oncall", AM)]
    assert h.run("agg_profit_inv").success
    h.tick("alert_on_failed_runs")
    ((inc, _),) = h.incidents()
    assert inc.status is Status.RESOLVED


# ---------------------------------------------------------------------------- the alerting store
@pytest.fixture(params=["sqlite", "postgres"])
def ops_store(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ops.sqlite")
    pg = request.getfixturevalue("postgres")
    global _db_count
    _db_count += 1
    return pg.url(pg.create_db(f"ops_{_db_count}"))


def test_the_store_opens_acks_and_resolves_an_incident(ops_store):
    """The engine over IncidentStore, the same on SQLite and on Postgres (resources/ops_db.py)."""
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(ops_store, clock) as eng:
        failure = Failure(pipeline="profit_agg", kind=FailureKind.RUN_FAILURE, subject="fct_profit_daily",
                          at=clock.now(), run_id="r1")
        (inc_id,) = eng.report([failure]).opened
        assert eng.report([failure]).opened == []  # reported again: nothing new opens
        clock.advance(minutes=10)
        assert eng.advance().delivered == [(inc_id, "page", "backup_oncall", PEOPLE["PR"])]
        eng.ack(inc_id, by=PEOPLE["PR"])
        assert eng.store.get(inc_id).status is Status.ACKED
        eng.resolve(inc_id, by=PEOPLE["PR"], reason="reran")
    with IncidentStore.open(ops_store) as store:  # a new connection reads what was committed
        inc = store.get(inc_id)
        assert (inc.status, inc.acked_by, inc.resolution) == (Status.RESOLVED, PEOPLE["PR"], "reran")
        assert inc.opened_at == ist("2026-03-07 02:00")
        assert inc.resolved_at - inc.opened_at == timedelta(minutes=10)
        assert inc.run_ids == ["r1"] and inc.occurrences == 1  # the same failure counts once
        events = [e.event for e in store.events(inc_id)]
        assert events[:6] == ["opened", "status", "page", "page", "ack", "resolve"]
        assert [e.id for e in store.events(inc_id)] == sorted(e.id for e in store.events(inc_id))
        assert {o.recipient for o in store.outbox(inc_id)} >= {PEOPLE["AM"], PEOPLE["PR"]}
        assert store.open_incidents() == [] and store.next_id() == "INC-00002"


def test_postgres_store_from_the_environment_and_one_writer_at_a_time(postgres, monkeypatch):
    """METRICS_OPS_STORE as a URL reaches the store through AlertRuntime's default (ops_store_path,
    a Path); a second writer waits for the first one's transaction (here: 200 ms, then fails)."""
    url = postgres.url(postgres.create_db("ops_env"))
    monkeypatch.setenv("METRICS_OPS_STORE", url)
    with AlertRuntime().engine() as eng:
        assert eng.store.list() == []
    with IncidentStore.open() as first, first.transaction():
        assert first.next_id() == "INC-00001"
        second = connect_postgres(url, lock_timeout_ms=200)
        try:
            with pytest.raises(psycopg2.errors.LockNotAvailable):
                second.execute("BEGIN IMMEDIATE")
            second.execute("ROLLBACK")
        finally:
            second.close()
    assert postgres.rows("ops_env", "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'public' AND table_name = 'incidents'") == [(1,)]
