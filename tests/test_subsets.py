"""Every asset subset is safe: materializing any selection of assets (as the Dagster UI lets a user
do), for one day or a range, leaves every table exactly as the full build of the same world left it.

The shared small world (tests/conftest.py) is built once through the real job (`all_pipelines`,
raw -> dbt -> checks -> publication); its raw, intermediate, marts and investor tables are
fingerprinted (rows and a checksum of every column except the publication stamps), and so is the
SQL of the staging views. Then each case re-materializes a subset of that world and is compared
table by table:

- the raw layer alone and each pipeline's group alone (group = pipeline id, dbt models + investor
  tables), for one day and for a 3-day range (both touch the August/September month end);
- each dbt model alone and each investor table alone, for the 3-day range. A model's SQL sees the
  window only through the min_date/max_date vars, and a range is where a window-only table, a
  partial re-read or a delete/insert of the wrong days shows (every model still runs for the day
  in its group). Failing before: with the models of 63a0daf^ (int_app_events_window a table of
  the last run's window only), 4 of the 11 runs differ: the 3-day run holding `alone:fct_events`
  (the original bug: marts.fct_events 536,569 -> 941,474 rows, the whole previous window of
  int_app_events_window inserted again), the one holding `alone:int_app_events_window`
  (594,628 -> 146,044 rows, its own window only) and both engagement_agg group runs.

A Dagster run with dbt costs 15-40 s here at load 5-9 whatever it selects (dbt starts and parses),
so cases are packed into runs. Two cases share a run only if they share no asset and no asset of
one is upstream of the other's, which is exactly running each alone (no selected asset reads what
another selected asset writes in that run); the one exception is a view upstream of the other
case: a view stores only its SQL, which is compared after the run, and dbt builds it before its
readers, so they read what they read alone. The packing comes from the job's asset graph (a new
model is covered without editing this file): 4 runs for the day (3 with dbt), 7 for the range
(6 with dbt), the fewest possible (`test_the_packing_is_minimal`). Every run starts from a copy
of the built warehouse file (~70 MB, 0.1 s).

The runs select the assets without their asset checks and dbt tests (each investor table keeps
its own `publication_gate`, which its publish step yields): a check only reads the warehouse and
writes ops.check_history, and publication evaluates every ERROR gate of its pipeline that the run
did not, so every compared table is the same as with checks. A test-only speed-up that changes
nothing a run writes: runs of one window (same --vars) start from the window's first parse.
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

from metrics_core.paths import config_dir
from tests.world import SF, range_tags, use_warehouse

# Inside the shared small world (tests/conftest.py: 2026-08-01 .. 2026-09-10), across a month end.
WINDOWS = {
    "1day": (date(2026, 9, 1), date(2026, 9, 1)),
    "3days": (date(2026, 8, 31), date(2026, 9, 2)),
}
ALONE_WINDOW = "3days"  # each model / investor table alone; groups and raw run in every window
SCHEMAS = ("raw", "intermediate", "marts", "investor")
VIEW_SCHEMAS = ("staging",)
STAMPS = ("_published_run_id", "_published_at", "_approved_by")  # differ per run by design
GATE_CHECK = "publication_gate"  # yielded by the publish step itself, so it stays selected


# ----------------------------------------------------------------------------------- plan


@dataclass
class Run:
    cases: list[str] = field(default_factory=list)
    keys: set[dg.AssetKey] = field(default_factory=set)

    @property
    def label(self) -> str:
        return "+".join(c.split(":", 1)[1] for c in self.cases)


@dataclass(frozen=True)
class Graph:
    groups: dict[str, set[dg.AssetKey]]
    below: dict[dg.AssetKey, set[dg.AssetKey]]  # each asset's descendants in the job
    views: set[dg.AssetKey]  # dbt models materialized as views
    dbt: set[dg.AssetKey]  # assets built by the dbt step
    alone: list[dg.AssetKey]  # every asset outside the raw group is also a case alone


@functools.cache
def _graph() -> Graph:
    from metrics_assets.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    job_keys = defs.resolve_job_def("all_pipelines").asset_layer.selected_asset_keys
    keys = sorted(job_keys, key=lambda k: k.to_user_string())
    groups: dict[str, set[dg.AssetKey]] = {}
    for k in keys:
        groups.setdefault(graph.get(k).group_name or "default", set()).add(k)
    meta = {k: graph.get(k).metadata for k in keys}
    above = {k: set(graph.get_ancestor_asset_keys(k)) & job_keys - {k} for k in keys}
    return Graph(
        groups=groups,
        below={k: {j for j in keys if k in above[j]} for k in keys},
        views={k for k in keys if meta[k].get("dagster-dbt/materialization_type") == "view"},
        dbt={k for k in keys if "dagster_dbt/unique_id" in meta[k]},
        alone=[k for k in keys if graph.get(k).group_name != "raw"],
    )


def _cases(window: str) -> list[tuple[str, set[dg.AssetKey]]]:
    g = _graph()
    cases = [(f"group:{name}", ks) for name, ks in sorted(g.groups.items())]
    if window == ALONE_WINDOW:
        cases += [(f"alone:{k.to_user_string()}", {k}) for k in g.alone]
    return cases


def _conflict(a: set[dg.AssetKey], b: set[dg.AssetKey]) -> bool:
    """Two cases may not share a run if they share an asset or one's asset is upstream of the
    other's, unless that upstream asset is a view: a view stores only its SQL (compared after the
    run), so a reader that runs after it in the same `dbt build` reads what it reads alone."""
    g = _graph()

    def feeds(x: set[dg.AssetKey], y: set[dg.AssetKey]) -> bool:
        return any(g.below[k] & y for k in x - g.views)

    return bool(a & b) or feeds(a, b) or feeds(b, a)


def _plan(window: str) -> list[Run]:
    """The window's cases, packed into as few runs as the asset graph allows (first fit: cases
    with dbt models first, largest first, so the runs that start dbt are as few as possible)."""
    dbt = _graph().dbt
    runs: list[Run] = []
    for name, ks in sorted(_cases(window), key=lambda c: (not c[1] & dbt, -len(c[1]), c[0])):
        run = next((r for r in runs if not _conflict(ks, r.keys)), None)
        if run is None:
            run = Run()
            runs.append(run)
        run.cases.append(name)
        run.keys |= ks
    return runs


PLANS = {w: _plan(w) for w in WINDOWS}


def _case_tables(run: Run) -> dict[str, str]:
    """schema.table -> the case that owns it (raw/<s> -> raw.<s>, model m -> <its schema>.m)."""
    from metrics_assets.definitions import build_definitions

    defs = build_definitions()
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


def _definitions(path: Path) -> dg.Definitions:
    from metrics_assets.definitions import build_definitions, build_resources
    from resources.warehouse import Warehouse

    use_warehouse(path)
    resources = build_resources(Warehouse(backend="duckdb", duckdb_path=str(path)))
    raw = resources["raw_source"]
    resources["raw_source"] = type(raw)(scale_factor=SF, seed=raw.seed, launch_date=raw.launch_date)
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
    """dbt parses the whole project again when --vars change (every window: ~10 s here); runs of
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


def test_the_packing_is_minimal() -> None:
    """Every case of a window is in exactly one run, no two cases of a run conflict, and there are
    as few runs, and as few runs that start dbt, as possible: as many as the largest set of
    pairwise-conflicting cases (of all cases; of the cases with dbt models), each of which needs a
    run of its own."""
    dbt = _graph().dbt
    for window, plan in PLANS.items():
        cases = dict(_cases(window))
        assert sorted(c for r in plan for c in r.cases) == sorted(cases), window
        for r in plan:
            assert r.keys == set().union(*(cases[c] for c in r.cases))
            for i, a in enumerate(r.cases):
                assert not any(_conflict(cases[a], cases[b]) for b in r.cases[i + 1 :]), (window, a)
        clique = _largest_clique(cases)
        assert len(plan) == len(clique), f"{window}: {len(plan)} runs, yet at most {len(clique)} conflict"
        with_dbt = _largest_clique({c: ks for c, ks in cases.items() if ks & dbt})
        runs_dbt = sum(1 for r in plan if r.keys & dbt)
        assert runs_dbt == len(with_dbt), f"{window}: {runs_dbt} dbt runs, a clique of {with_dbt}"
    assert len(PLANS[ALONE_WINDOW]) > len(PLANS["1day"]), "the range also runs every asset alone"


def _largest_clique(cases: dict[str, set[dg.AssetKey]]) -> list[str]:
    """A largest set of pairwise-conflicting cases (exact, by branch and bound: <= ~45 cases)."""
    names = sorted(cases)
    adj = {a: {b for b in names if b != a and _conflict(cases[a], cases[b])} for a in names}
    best: list[str] = []

    def grow(clique: list[str], candidates: set[str]) -> None:
        nonlocal best
        if len(clique) > len(best):
            best = list(clique)
        for c in sorted(candidates):
            if len(clique) + len(candidates) <= len(best):
                return
            grow([*clique, c], candidates & adj[c])
            candidates = candidates - {c}

    grow([], set(names))
    return best


def _subset_job(defs: dg.Definitions, keys: set[dg.AssetKey]) -> dg.JobDefinition:
    """The main job on `keys`, without their asset checks and dbt tests, except each investor
    table's publication gate (the publish step yields it itself)."""
    job = defs.resolve_job_def("all_pipelines")
    checks = job.asset_layer.asset_graph.get_check_keys_for_assets(keys)
    return job.get_subset(
        asset_selection=keys, asset_check_selection={c for c in checks if c.name == GATE_CHECK}
    )


@pytest.mark.parametrize(
    ("window", "run"),
    [(w, r) for w in WINDOWS for r in PLANS[w]],
    ids=[f"{w}-{r.label}" for w in WINDOWS for r in PLANS[w]],
)
def test_subset_leaves_every_table_as_a_full_build(built: Built, window: str, run: Run) -> None:
    start, end = WINDOWS[window]
    shutil.copyfile(built.path, built.work)
    _seed_partial_parse(built, window)
    t0 = time.monotonic()
    res = _subset_job(built.defs, run.keys).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={**built.tags, **range_tags(start, end)},
        raise_on_error=False,
    )
    built.timings[f"{window}:{run.label[:40]}"] = time.monotonic() - t0
    _keep_partial_parse(built, window, res.run_id)
    failed = [e.step_key for e in res.all_events if e.is_step_failure]
    assert res.success, f"{window} run of {run.cases} failed at steps {failed}"
    done = {e.asset_key for e in res.get_asset_materialization_events()}
    assert done == run.keys, f"not materialized: {sorted(run.keys - done)}, extra: {sorted(done - run.keys)}"
    checked = {e.asset_check_key for e in res.get_asset_check_evaluations()}
    assert {c.name for c in checked} <= {GATE_CHECK}, f"checks ran: {sorted(checked)}"

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
