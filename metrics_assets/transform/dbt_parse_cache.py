"""dbt's partial parse, kept from one run to the next, per warehouse.

dagster-dbt gives every invocation its own target directory, seeded with the project target's
partial_parse.msgpack: written by `dbt parse` at setup for another profile (another DuckDB path),
so dbt rejected it and parsed the whole project in every run (~2.6 s of a daily run). Here each
run starts from the parse the previous run on the same warehouse left, and leaves its own. A
cache per warehouse: runs on two warehouse files (two worlds, two test workers) do not replace
each other's. dbt checks the file against the project files, vars and profile, so a stale one
costs a full parse, never a wrong build.
"""

import hashlib
import os
import shutil
import uuid
from pathlib import Path

PARSE_FILE = "partial_parse.msgpack"


def run_target(project_target: Path, step: str, run_id: str) -> Path:
    """A fresh target directory for one invocation (named like dagster-dbt's own)."""
    return project_target / f"{step}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def _cached(project_target: Path, warehouse_key: str) -> Path:
    digest = hashlib.sha1(warehouse_key.encode()).hexdigest()[:16]
    return project_target / "partial_parse" / f"{digest}.msgpack"


def seed(target: Path, project_target: Path, warehouse_key: str) -> bool:
    """Put the warehouse's last parse into `target` (before dbt starts); False if there is none."""
    cached = _cached(project_target, warehouse_key)
    if not cached.exists():
        return False
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target / PARSE_FILE)
    return True


def keep(target: Path, project_target: Path, warehouse_key: str) -> str | None:
    """Keep the parse the invocation in `target` wrote, replacing the cached one atomically.
    Returns why not when it could not (a read-only project in an image): the next run parses in full."""
    src = target / PARSE_FILE
    if not src.exists():
        return f"{src} not written"
    cached = _cached(project_target, warehouse_key)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tmp)
        os.replace(tmp, cached)
    except OSError as exc:
        return str(exc)
    return None
