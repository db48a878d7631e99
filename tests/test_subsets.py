"""Every asset subset is safe: materializing any selection of assets (as the Dagster UI lets a user
do), for one day or a range, leaves every table exactly as the full build of the same world left it.

The shared small world (tests/conftest.py) is built once through the real job (`all_pipelines`,
raw -> dbt -> checks -> publication); its raw, intermediate, marts and investor tables are
fingerprinted (rows and a checksum of every column except the publication stamps), and so is the
SQL of the staging views. Then each case re-materializes a subset of that world and is compared
table by table:

- the raw layer alone; each pipeline's group alone (group = pipeline id, dbt models + investor
  tables); each dbt model alone and each investor table alone;
- each for one day and for a 3-day range (both touch the August/September month end).

A Dagster run with dbt costs 20-70 s here at load 5-7 whatever it selects (dbt starts, parses,
builds and tests; Dagster runs the checks and publication), so cases are packed into runs: cases
whose assets neither depend on each other nor share an asset run together, which is exactly
running each alone (no selected asset reads what another selected asset writes in that run). The
packing comes from the job's asset graph (a new model is covered without editing this file):
8 runs per window, 7 of them with dbt. Every run starts from a copy of the built warehouse file.
Two test-only speed-ups change nothing a run does: `dbt --version` is asked once per process,
and runs of one window (same --vars) start from the window's first parse.
"""

import functools
import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster_dbt import DbtCliResource

from metrics_assets.paths import config_dir
from tests.world import SF, range_tags, use_warehouse

# Inside the shared small world (tests/conftest.py: 2026-08-01 .. 2026-09-10), across a month end.
WINDOWS = {
    "1day": (date(2026, 9, 1), date(2026, 9, 1)),
    "3days": (date(2026, 8, 31), date(2026, 9, 2)),
}
SCHEMAS = ("raw", "intermediate", "marts", "investor")
VIEW_SCHEMAS = ("staging",)
STAMPS = ("_published_run_id", "_published_at", "_approved_by")  # differ per run by design


# ----------------------------------------------------------------------------------- plan


@dataclass
class Run:
    cases: list[str] = field(default_factory=list)
    keys: set[dg.AssetKey] = field(default_factory=set)

    @property
    def label(self) -> str:
        return "+".join(c.split(":", 1)[1] for c in self.cases)


def _plan() -> list[Run]:
    """The cases, packed into as few runs as the asset graph allows (first fit, largest first)."""
    from metrics_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    job_keys = defs.resolve_job_def("all_pipelines").asset_layer.selected_asset_keys
    keys = sorted(job_keys, key=lambda k: k.to_user_string())
    anc = {k: set(graph.get_ancestor_asset_keys(k)) & job_keys for k in keys}
    related = {k: anc[k] | {j for j in keys if k in anc[j]} | {k} for k in keys}
    groups: dict[str, set[dg.AssetKey]] = {}
    for k in keys:
        groups.setdefault(graph.get(k).group_name or "default", set()).add(k)
    cases: list[tuple[str, set[dg.AssetKey]]] = [(f"group:{g}", ks) for g, ks in sorted(groups.items())]
    cases += [(f"alone:{k.to_user_string()}", {k}) for k in keys if graph.get(k).group_name != "raw"]
    runs: list[Run] = []
    for name, ks in sorted(cases, key=lambda c: -len(c[1])):
        reach = set().union(*(related[k] for k in ks))
        run = next((r for r in runs if not reach & r.keys), None)
        if run is None:
            run = Run()
            runs.append(run)
        run.cases.append(name)
        run.keys |= ks
    return runs


PLAN = _plan()


def _case_tables(run: Run) -> dict[str, str]:
    """schema.table -> the case that owns it (raw/<s> -> raw.<s>, model m -> <its schema>.m)."""
    from metrics_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    owner: dict[str, str] = {}
    for case in run.cases:
        ks = {dg.AssetKey(case.split(":", 1)[1].split("/"))} if case.startswith("alone:") else {
            k for k in run.keys if (graph.get(k).group_name or "default") == case.split(":", 1)[1]
        }
        for k in ks:
            table = graph.get(k).metadata.get("dagster/table_name")
            if table:
                owner[str(table)] = case
    return owner


# ----------------------------------------------------------------------------- fingerprints


def fingerprints(path: Path) -> dict[str, tuple[int, str]]:
    """(rows, checksum) of every table in SCHEMAS, and (0, hash of its SQL) of every view in VIEW_SCHEMAS."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, tuple[int, str]] = {}
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_type = 'BASE TABLE' and table_schema in {SCHEMAS} order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            cols = [
                f'"{c}"'
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in STAMPS
            ]
            rows, checksum = con.execute(
                f"select count(*), coalesce(sum(hash(x)), 0)::varchar "
                f'from (select {", ".join(cols)} from "{schema}"."{table}") as x'
            ).fetchone()
            out[f"{schema}.{table}"] = (int(rows), str(checksum))
        for schema, view, sql in con.execute(
            f"select schema_name, view_name, sql from duckdb_views() where schema_name in {VIEW_SCHEMAS}"
        ).fetchall():
            out[f"{schema}.{view}"] = (0, hashlib.sha256(str(sql).encode()).hexdigest())
        return out
    finally:
        con.close()


# ---------------------------------------------------------------------------------- fixtures


@functools.cache
def _dbt_version(executable: str):
    return DbtCliResource(project_dir=".", dbt_executable=executable)._cli_version


class _DbtVersionOnce(DbtCliResource):
    """DbtCliResource that runs `dbt --version` once per process instead of once per run (the
    resource is re-created for every run; ~7 s each on this machine). Nothing else differs."""

    @property
    def _cli_version(self):  # type: ignore[override]
        return _dbt_version(self.dbt_executable)


def _definitions(path: Path) -> dg.Definitions:
    from metrics_assets.definitions import build_definitions, build_resources
    from resources.warehouse import Warehouse

    use_warehouse(path)
    resources = build_resources(Warehouse(backend="duckdb", duckdb_path=str(path)))
    raw = resources["raw_source"]
    resources["raw_source"] = type(raw)(
        mode=raw.mode, scale_factor=SF, seed=raw.seed, launch_date=raw.launch_date
    )
    dbt = resources["dbt"]
    resources["dbt"] = _DbtVersionOnce(
        project_dir=dbt.project_dir, profiles_dir=dbt.profiles_dir, target=dbt.target,
        dbt_executable=dbt.dbt_executable,
    )
    return build_definitions(resources)


@dataclass
class Built:
    path: Path
    work: Path
    defs: dg.Definitions
    expected: dict[str, tuple[int, str]]
    tags: dict[str, str]
    dbt_target: Path
    timings: dict[str, float]
    parsed: dict[str, Path] = field(default_factory=dict)


PARTIAL_PARSE = "partial_parse.msgpack"


def _seed_partial_parse(built: Built, window: str) -> None:
    """dbt parses the whole project again when --vars change (every window: ~5 s here); runs of
    one window have the same vars, so each starts from the parse state of the window's first run.
    dagster-dbt copies $DBT_TARGET_PATH/partial_parse.msgpack into every run's target dir."""
    seed = built.dbt_target / PARTIAL_PARSE
    if window in built.parsed:
        shutil.copyfile(built.parsed[window], seed)
    else:
        seed.unlink(missing_ok=True)


def _keep_partial_parse(built: Built, window: str, run_id: str) -> None:
    if window not in built.parsed:
        for found in built.dbt_target.glob(f"*-{run_id[:7]}-*/{PARTIAL_PARSE}"):
            built.parsed[window] = shutil.copyfile(found, built.dbt_target / f"{window}.msgpack")


def _world_tags(world) -> dict[str, str]:
    """The tags of the world's full build (its run clock, if it pinned one) plus an approver, so a
    re-run sees the same clock and may re-publish closed periods (publish.py); same data."""
    runs = world.instance.get_runs(dg.RunsFilter(tags=range_tags(world.start, world.end)), limit=1)
    tags = {k: v for k, v in (runs[0].tags if runs else {}).items() if not k.startswith("dagster/")}
    team = yaml.safe_load((config_dir() / "team.yaml").read_text()) or {}
    approvers = team.get("approvers") or ["test_subsets"]
    return {**tags, "approved_by": str(approvers[0])}


@pytest.fixture(scope="module")
def built(small_world, tmp_path_factory: pytest.TempPathFactory):
    """The shared small world (conftest: 41 days at SF 0.02, fully built through the job; the
    publication gates need 28 days of history), its fingerprints, and Definitions on a work copy."""
    assert small_world.success, "the full build of the small world failed"
    env = ("DAGSTER_HOME", "METRICS_DUCKDB_PATH", "METRICS_DATA_DIR", "DBT_TARGET_PATH")
    old = {k: os.environ.get(k) for k in env}
    os.environ["DAGSTER_HOME"] = str(tmp_path_factory.mktemp("dagster_home"))
    os.environ["METRICS_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    dbt_target = tmp_path_factory.mktemp("dbt_target")  # the runs' dbt artifacts, not dbt/target
    os.environ["DBT_TARGET_PATH"] = str(dbt_target)
    t0 = time.monotonic()
    expected = fingerprints(small_world.path)
    work = tmp_path_factory.mktemp("subsets_work") / small_world.path.name
    defs = _definitions(work)
    timings = {"setup": time.monotonic() - t0}
    yield Built(small_world.path, work, defs, expected, _world_tags(small_world), dbt_target, timings)
    print("\n[test_subsets] seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_the_world_is_not_trivial(built: Built) -> None:
    """Guard: the fingerprints compare real volumes: every mart and intermediate table has rows,
    and so do the daily investor tables (a period table may wait for its period to be complete)."""
    rows = {t: n for t, (n, _) in built.expected.items()}
    empty = sorted(t for t, n in rows.items() if t.split(".")[0] in ("marts", "intermediate") and not n)
    assert not empty, f"empty after the full build: {empty}"
    assert rows["marts.fct_events"] > 10_000
    investor = {t: n for t, n in rows.items() if t.startswith("investor.")}
    assert len(investor) >= 8 and sum(1 for n in investor.values() if n) >= 5, investor
    assert len([t for t in rows if t.startswith("staging.")]) >= 10


@pytest.mark.parametrize(
    ("window", "run"),
    [(w, r) for w in WINDOWS for r in PLAN],
    ids=[f"{w}-{r.label}" for w in WINDOWS for r in PLAN],
)
def test_subset_leaves_every_table_as_a_full_build(built: Built, window: str, run: Run) -> None:
    start, end = WINDOWS[window]
    shutil.copyfile(built.path, built.work)
    _seed_partial_parse(built, window)
    t0 = time.monotonic()
    res = built.defs.resolve_job_def("all_pipelines").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={**built.tags, **range_tags(start, end)},
        asset_selection=sorted(run.keys, key=lambda k: k.to_user_string()),
        raise_on_error=False,
    )
    built.timings[f"{window}:{run.label[:40]}"] = time.monotonic() - t0
    _keep_partial_parse(built, window, res.run_id)
    failed = [e.step_key for e in res.all_events if e.is_step_failure]
    assert res.success, f"{window} run of {run.cases} failed at steps {failed}"
    done = {e.asset_key for e in res.get_asset_materialization_events()}
    assert done >= {k for k in run.keys}, f"not materialized: {sorted(run.keys - done)}"

    got = fingerprints(built.work)
    owner = _case_tables(run)
    diffs = []
    for table in sorted(set(built.expected) | set(got)):
        want, have = built.expected.get(table), got.get(table)
        if want != have:
            rows = f"rows {want[0] if want else '-'} -> {have[0] if have else '-'}"
            diffs.append(f"{table} ({owner.get(table, 'not selected')}): {rows}, checksum differs")
    assert not diffs, (
        f"{window} {start}..{end} re-materializing {run.cases} changed the world:\n  "
        + "\n  ".join(diffs)
    )
