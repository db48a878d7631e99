"""The runbooks agree with the check registry and config, and their SQL runs on the warehouse.

A failure mode without an anchor, an anchor without a failure mode, a stale generated block or a
validation query that no longer binds to the real tables all fail here, so the runbook an on-call
engineer opens at 3am is never out of step with what the platform checks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from checks.registry import catalogue
from metrics_assets.runbooks import ANCHOR, BEGIN, END, render_all
from metrics_core.config import ConfigError, pipeline_config
from metrics_core.dbt_vars import dbt_vars_json
from metrics_core.paths import PROJECT_ROOT, RUNBOOK_DIR
from metrics_core.sources import SOURCES

# Session fixture of the small generated warehouse (tests/conftest.py; a DuckDB path or an object with
# `.path`). The SQL blocks run against it and validation queries must return no rows there. Without
# it they run against empty contract-shaped raw tables with the real dbt models, ops and investor
# tables built on them. Either way a block skips only when it names a known table that does not exist
# there (e.g. an investor table whose publication was refused), with that reason.
WAREHOUSE_FIXTURE = "small_world"

SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CHECKS_KEY = re.compile(r"`checks\.yaml:\s*([a-z0-9_.]+)`")
RUNBOOKS = sorted(RUNBOOK_DIR.glob("*.md"))  # also other how-tos kept here (e.g. oncall.md)
PIPELINE_RUNBOOKS = [RUNBOOK_DIR / f"{pid}.md" for pid in pipeline_config().pipelines]
GENERATED = [*PIPELINE_RUNBOOKS, RUNBOOK_DIR / "README.md"]  # the files render_all owns a block in


def anchors(path: Path) -> list[str]:
    return ANCHOR.findall(path.read_text())


def slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def targets(path: Path) -> set[str]:
    text = path.read_text()
    heads = {slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.MULTILINE)}
    return heads | set(ANCHOR.findall(text))


# ---- (a) + (b): anchors and the check registry ------------------------------------------------


def missing_anchors(runbook_dir: Path) -> list[str]:
    return [
        f"{fm_id} -> runbooks/{fm.pipeline}.md"
        for fm_id, fm in catalogue().failure_modes.items()
        if fm_id not in anchors(runbook_dir / f"{fm.pipeline}.md")
    ]


def anchor_problems(runbook_dir: Path) -> list[str]:
    """Anchors that are no failure mode, sit in the wrong runbook, or repeat."""
    known = catalogue().failure_modes
    problems = []
    for path in sorted(runbook_dir.glob("*.md")):
        found = anchors(path)
        for a in set(found):
            if a not in known:
                problems.append(f"{path.name}: anchor {a!r} is no failure mode in failure_modes.yaml")
            elif known[a].pipeline != path.stem:
                problems.append(f"{path.name}: anchor {a!r} belongs in {known[a].pipeline}.md")
            if found.count(a) > 1:
                problems.append(f"{path.name}: anchor {a!r} appears {found.count(a)} times")
    return problems


def test_every_failure_mode_has_its_anchor_in_the_named_runbook():
    missing = missing_anchors(RUNBOOK_DIR)
    assert not missing, f"failure modes without an anchor in their runbook: {missing}"


def test_every_check_runbook_link_resolves():
    broken = []
    for check in catalogue().checks:
        file, _, anchor = check.runbook_link.partition("#")
        path = PROJECT_ROOT / file
        if not path.exists() or anchor not in anchors(path):
            broken.append(f"{check.key} -> {check.runbook_link}")
    assert catalogue().checks, "the registry has no checks"
    assert not broken, f"check runbook links that do not resolve: {broken}"


def test_every_dagster_asset_check_links_to_an_existing_anchor():
    """The metadata the on-call engineer actually clicks (Dagster UI, page) resolves too."""
    from metrics_assets.asset_checks import build_asset_checks

    broken, seen = [], 0
    for checks_def in build_asset_checks():
        for spec in checks_def.check_specs:
            seen += 1
            link = spec.metadata["runbook"]
            link = str(getattr(link, "url", link)).removeprefix(PROJECT_ROOT.as_uri() + "/")
            file, _, anchor = link.partition("#")
            if not (PROJECT_ROOT / file).exists() or anchor not in anchors(PROJECT_ROOT / file):
                broken.append(f"{spec.asset_key.to_user_string()}:{spec.name} -> {link}")
    assert seen == len(catalogue().checks)
    assert not broken, f"asset checks whose runbook link does not resolve: {broken}"


def test_no_orphan_or_duplicate_anchors():
    problems = anchor_problems(RUNBOOK_DIR)
    assert not problems, "\n".join(problems)


def test_anchor_checks_catch_a_removed_and_an_orphan_anchor(runbook_copy: Path):
    path = runbook_copy / "profit_agg.md"
    text = path.read_text()
    text = text.replace('<a id="profit-cost-coverage"></a>', "")
    text += '\n<a id="profit-made-up"></a>\n<a id="growth-late-churn"></a>\n'
    path.write_text(text)
    assert missing_anchors(runbook_copy) == ["profit-cost-coverage -> runbooks/profit_agg.md"]
    problems = anchor_problems(runbook_copy)
    assert any("'profit-made-up' is no failure mode" in p for p in problems)
    assert any("'growth-late-churn' belongs in growth_agg.md" in p for p in problems)


def test_each_failure_mode_section_says_what_it_means_and_how_to_recover():
    """The hand-written section after each anchor carries the parts an on-call engineer needs."""
    missing = []
    for path in PIPELINE_RUNBOOKS:
        text = path.read_text()
        for m in ANCHOR.finditer(text):
            nxt = ANCHOR.search(text, m.end())
            section = text[m.end() : nxt.start() if nxt else len(text)]
            head = re.search(r"^### .+$", section, re.MULTILINE)
            if not head or section[: head.start()].strip():
                missing.append(f"{path.name}#{m.group(1)}: anchor not directly before a ### heading")
            for part in ("**Means**", "**Check**", "**Diagnose**", "**Recover**", "**Escalate**"):
                if part not in section:
                    missing.append(f"{path.name}#{m.group(1)}: no {part}")
            if "```sql" not in section:
                missing.append(f"{path.name}#{m.group(1)}: no diagnostic SQL")
    assert not missing, "\n".join(missing)


def test_every_pipeline_has_a_runbook_and_the_index_lists_it():
    index = (RUNBOOK_DIR / "README.md").read_text()
    for pid in pipeline_config().pipelines:
        assert (RUNBOOK_DIR / f"{pid}.md").exists(), f"runbooks/{pid}.md is missing"
        assert f"({pid}.md)" in index, f"runbooks/README.md does not link {pid}.md"


def broken_links(runbook_dir: Path) -> list[str]:
    broken = []
    for path in sorted(runbook_dir.glob("*.md")):
        for link in LINK.findall(path.read_text()):
            if re.match(r"^[a-z]+://", link):
                continue
            file, _, anchor = link.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                broken.append(f"{path.name}: {link} (no file {file})")
            elif anchor and dest.suffix == ".md" and anchor not in targets(dest):
                broken.append(f"{path.name}: {link} (no anchor or heading {anchor!r})")
    return broken


def bad_threshold_refs(runbook_dir: Path) -> list[str]:
    """Runbooks cite thresholds as `checks.yaml: a.b.c` instead of retyping the number."""
    cfg = yaml.safe_load((PROJECT_ROOT / "config" / "checks.yaml").read_text())
    bad = []
    for path in sorted(runbook_dir.glob("*.md")):
        for ref in CHECKS_KEY.findall(path.read_text()):
            node = cfg
            for part in ref.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                bad.append(f"{path.name}: config/checks.yaml has no key {ref}")
    return bad


def test_markdown_links_resolve():
    broken = broken_links(RUNBOOK_DIR)
    assert not broken, "\n".join(broken)


def test_threshold_references_name_real_config_keys():
    bad = bad_threshold_refs(RUNBOOK_DIR)
    assert not bad, "\n".join(bad)


def test_link_and_threshold_checks_catch_bad_references(runbook_copy: Path):
    path = runbook_copy / "growth_agg.md"
    path.write_text(path.read_text() + "\n[x](profit_agg.md#no-such-heading) [y](nowhere.md) "
                    "`checks.yaml: growth.no_such.key`\n")
    assert len(broken_links(runbook_copy)) == 2
    assert bad_threshold_refs(runbook_copy) == [
        "growth_agg.md: config/checks.yaml has no key growth.no_such.key"
    ]


# ---- (c): generated blocks are up to date ----------------------------------------------------


def test_generated_blocks_are_up_to_date():
    stale = render_all(check=True)
    assert not stale, f"run `python -m metrics_assets.runbooks`; stale: {[str(p) for p in stale]}"


def test_each_runbook_has_exactly_one_generated_block():
    for path in GENERATED:
        text = path.read_text()
        assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{path.name}: needs one generated block"


@pytest.fixture
def runbook_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "runbooks"
    shutil.copytree(RUNBOOK_DIR, dest)
    return dest


def test_config_change_makes_the_runbook_stale_and_rerender_keeps_hand_written_parts(
    runbook_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cfg_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", cfg_dir)
    pipes = yaml.safe_load((cfg_dir / "pipelines.yaml").read_text())
    owners = pipes["pipelines"]["profit_agg"]["owners"]
    owners["primary"], owners["secondary"] = owners["secondary"], owners["primary"]
    (cfg_dir / "pipelines.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(cfg_dir))

    hand_before = (runbook_copy / "profit_agg.md").read_text().split(END)[1]
    stale = render_all(check=True, runbook_dir=runbook_copy)
    assert [p.name for p in stale] == ["profit_agg.md"]
    render_all(runbook_dir=runbook_copy)
    text = (runbook_copy / "profit_agg.md").read_text()
    assert render_all(check=True, runbook_dir=runbook_copy) == []
    assert text.split(END)[1] == hand_before, "hand-written part changed by re-rendering"
    names = {p["email"]: p["name"] for p in yaml.safe_load((cfg_dir / "team.yaml").read_text())["people"]}
    assert f"| Primary owner | {names[owners['primary']]}" in text


def test_hand_edit_inside_the_block_is_reported_stale(runbook_copy: Path):
    path = runbook_copy / "growth_agg.md"
    path.write_text(path.read_text().replace("## At a glance", "## At a glance (edited)"))
    assert render_all(check=True, runbook_dir=runbook_copy) == [path]


def test_owner_missing_from_team_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runbook_copy):
    cfg_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", cfg_dir)
    team = yaml.safe_load((cfg_dir / "team.yaml").read_text())
    person = team["people"].pop(0)
    gone = person["email"]
    # the team file itself stays valid (TeamConfig refuses approvers that are no one): only the
    # pipeline owner is dangling
    team["approvers"] = [a for a in team.get("approvers", []) if a not in (person["id"], gone)]
    (cfg_dir / "team.yaml").write_text(yaml.safe_dump(team, sort_keys=False))
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(cfg_dir))
    with pytest.raises(ConfigError, match=re.escape(gone)):
        render_all(check=True, runbook_dir=runbook_copy)


# ---- (d): every sql block parses and runs on a warehouse -------------------------------------


def sql_blocks() -> list[tuple[str, int, str]]:
    return [
        (path.name, i, sql)
        for path in RUNBOOKS
        for i, sql in enumerate(SQL_BLOCK.findall(path.read_text()), 1)
    ]


BLOCKS = sql_blocks()
BLOCK_IDS = [f"{name}-sql{i}" for name, i, _ in BLOCKS]


def validation_blocks(path: Path) -> list[str]:
    """The sql blocks under `## Validation queries`: invariants that return no rows on good data."""
    text = path.read_text()
    section = text.split("## Validation queries", 1)[1] if "## Validation queries" in text else ""
    return SQL_BLOCK.findall(section.split("\n## ", 1)[0])


VALIDATIONS = [(p.name, i, sql) for p in PIPELINE_RUNBOOKS for i, sql in enumerate(validation_blocks(p), 1)]


def test_runbooks_have_validation_queries():
    for path in PIPELINE_RUNBOOKS:
        assert "## Validation queries" in path.read_text(), f"{path.name}: no validation queries section"
    assert len(BLOCKS) >= 20


@pytest.mark.parametrize(("name", "idx", "sql"), BLOCKS, ids=BLOCK_IDS)
def test_sql_block_parses(name: str, idx: int, sql: str):
    statements = duckdb.extract_statements(sql)
    assert len(statements) == 1, f"{name} sql block {idx}: expected one statement, got {len(statements)}"


def known_tables() -> set[str]:
    """Tables a runbook may name: dbt models, raw sources, and the ops tables the code writes."""
    names = {p.stem for p in (PROJECT_ROOT / "dbt" / "models").rglob("*.sql")}
    names |= {c.asset for c in catalogue().checks if not c.is_raw}
    names |= set(SOURCES)
    pub = yaml.safe_load((PROJECT_ROOT / "config" / "checks.yaml").read_text()).get("publication", {})
    names |= set(pub.get("tables", {}))
    for folder in ("metrics_assets", "checks", "resources"):
        for py in (PROJECT_ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"\bops\.([a-z_][a-z0-9_]*)", py.read_text()))
    return names


def contract_warehouse(path: Path) -> Path:
    """Empty raw tables shaped exactly like the source contract: raw-level SQL binds for real."""
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists raw")
    for s in SOURCES.values():
        cols = ", ".join(f"{c.name} {c.type}" for c in s.columns)
        con.execute(f"create table {s.table} ({cols})")
    con.close()
    return path


def build_empty_models(path: Path, work: Path) -> None:
    """The real dbt models (and the ops tables, by their own DDL) on the empty contract tables, so
    mart-level SQL binds to the real column names; investor tables get publish.py's shape. About
    10 s; writes nothing under dbt/."""
    env = {**os.environ, "METRICS_DUCKDB_PATH": str(path), "METRICS_WAREHOUSE": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    start = pipeline_config().partitions_start_date
    cmd = [sys.executable, "-m", "dbt.cli.main", "run", "--project-dir", str(PROJECT_ROOT / "dbt"),
           "--profiles-dir", str(PROJECT_ROOT / "dbt"), "--target", "duckdb",
           "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
           "--vars", dbt_vars_json(start, start + timedelta(days=2))]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"dbt run on the empty contract warehouse failed:\n{res.stdout[-4000:]}"
    from checks.history import ensure_table
    from checks.settings import check_settings
    from metrics_assets.orchestration.run_log import DDL as RUN_LOG_DDL
    from metrics_assets.publication.publish import LOG_DDL, PUBLICATION_COLUMNS

    schema = check_settings().publication.schema_
    con = duckdb.connect(str(path))
    try:
        ensure_table(con)
        for stmt in RUN_LOG_DDL.split(";"):
            if stmt.strip():
                con.execute(stmt)
        con.execute(LOG_DDL)
        con.execute(f"create schema if not exists {schema}")
        extra = ", ".join(f"cast(null as varchar) as {c}" for c in PUBLICATION_COLUMNS)
        for name, spec in pipeline_config().investor_tables.items():  # the shape publish.py gives them
            con.execute(f"create table {schema}.{name} as select *, {extra} "
                        f"from marts.{spec.model} where 1 = 0")
    finally:
        con.close()


@pytest.fixture(scope="module")
def fallback_warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("runbooks")
    path = contract_warehouse(work / "contract.duckdb")
    build_empty_models(path, work)
    return path


@pytest.fixture(scope="module")
def runbook_warehouse(request: pytest.FixtureRequest) -> tuple[Path, bool]:
    """(DuckDB path, strict): the lead's generated warehouse if provided, else the empty fallback."""
    try:
        world = request.getfixturevalue(WAREHOUSE_FIXTURE)
    except pytest.FixtureLookupError:
        return request.getfixturevalue("fallback_warehouse"), False
    return Path(getattr(world, "path", world)), True


MISSING_TABLE = re.compile(r'Table with name "?([\w.]+?)"? does not exist')


def run_or_skip_missing(path: Path, strict: bool, name: str, idx: int, sql: str) -> list[tuple]:
    """Rows of `sql`; skips (with the reason) only when it names a known table that is not built."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException as exc:
        table = MISSING_TABLE.search(str(exc))
        if not table:
            raise
        qualified = table.group(1)
        if qualified.rsplit(".", 1)[-1] not in known_tables():
            pytest.fail(f"{name} sql block {idx}: {qualified!r} is no dbt model, source, investor/ops table")
        where = (
            "the generated world (publication of it was refused or never ran: see ops.publication_log)"
            if strict
            else "the fallback warehouse (contract raw, dbt models, ops, investor)"
        )
        pytest.skip(f"{name} sql block {idx}: {qualified} does not exist in {where}")
    finally:
        con.close()


@pytest.mark.warehouse
@pytest.mark.parametrize(("name", "idx", "sql"), BLOCKS, ids=BLOCK_IDS)
def test_sql_block_runs_on_the_warehouse(name: str, idx: int, sql: str, runbook_warehouse):
    run_or_skip_missing(*runbook_warehouse, name, idx, sql)


@pytest.mark.warehouse
@pytest.mark.parametrize(("name", "idx", "sql"), VALIDATIONS, ids=[f"{n}-v{i}" for n, i, _ in VALIDATIONS])
def test_validation_query_returns_no_rows_on_the_warehouse(name: str, idx: int, sql: str, runbook_warehouse):
    """On a clean generated world the invariants hold (on the empty fallback this is trivially so)."""
    rows = run_or_skip_missing(*runbook_warehouse, name, idx, sql)
    assert rows == [], f"{name} validation query {idx} returned {len(rows)} row(s), e.g. {rows[:3]}"


# One broken invariant per investor runbook: the validation query must return the bad row.
BAD_DATA = {
    "profit_agg.md": [
        "insert into marts.fct_order_profit (order_id, order_date, profit_usd) "
        "values (1, date '2025-01-02', 50)",
        "insert into marts.agg_profit_daily (order_date, profit_usd) values (date '2025-01-02', 100)",
    ],
    "growth_agg.md": [
        "insert into marts.agg_growth_daily (day, new_users, churned_users, net_growth) "
        "values (date '2025-01-02', 10, 2, 9)",
    ],
    "engagement_agg.md": [
        "insert into marts.agg_engagement_daily (day, dau, wau, mau) values (date '2025-01-02', 50, 40, 60)",
    ],
}


@pytest.mark.warehouse
@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_validation_queries_catch_bad_data(name: str, fallback_warehouse: Path, tmp_path: Path):
    bad = tmp_path / "bad.duckdb"
    shutil.copyfile(fallback_warehouse, bad)
    con = duckdb.connect(str(bad))
    try:
        for stmt in BAD_DATA[name]:
            con.execute(stmt)
        blocks = validation_blocks(RUNBOOK_DIR / name)
        hits = [i for i, sql in enumerate(blocks, 1) if con.execute(sql).fetchall()]
    finally:
        con.close()
    assert hits, f"no validation query of {name} noticed the planted bad row"


def test_sql_check_catches_a_bad_column(tmp_path: Path):
    """The runner is honest: a query naming a column the contract lacks fails to bind."""
    con = duckdb.connect(str(contract_warehouse(tmp_path / "w.duckdb")))
    with pytest.raises(duckdb.BinderException, match="order_total"):
        con.execute("select order_total from raw.orders").fetchall()
    con.close()
