"""The import layers hold (pyproject.toml [tool.importlinter]): the code location imports the
check library, which imports the adapters, which import the core, and never the other way; no
production module imports the synthetic world."""

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("metrics_assets", "checks", "resources", "metrics_core")
# may import the synthetic world: the wiring that picks the embedded default, and the dev CLIs
WIRING = {"metrics_assets.definitions", "metrics_assets.cli", "metrics_assets.cli.up",
          "metrics_assets.cli.faults", "metrics_assets.generator"}


def _modules(package: str) -> set[str]:
    """Every module of `package`, dotted (a package is its __init__)."""
    out = set()
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_are_kept():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout


def test_every_production_module_is_under_the_synthetic_contract():
    """A new module of the code location is either wiring (listed above) or covered."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (synthetic,) = [c for c in cfg["contracts"] if c["type"] == "forbidden"]
    covered = set(synthetic["source_modules"]) | WIRING

    def under(module: str) -> bool:
        return any(module == c or module.startswith(c + ".") for c in covered)

    assert {m for m in _modules("metrics_assets") if m != "metrics_assets" and not under(m)} == set()


def test_a_back_edge_breaks_the_contract(tmp_path: Path):
    """The contract can fail: the same packages with one upward import added."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    core = tmp_path / "resources" / "warehouse.py"
    core.write_text(core.read_text() + "\nimport metrics_assets.publication.publish  # noqa: E402,F401\n")
    low = tmp_path / "metrics_assets" / "orchestration" / "run_log.py"  # inside the code location
    low.write_text(low.read_text() + "\nimport metrics_assets.ingest.raw_assets  # noqa: E402,F401\n")
    res = _lint(tmp_path)
    assert res.returncode != 0
    assert "resources.warehouse -> metrics_assets.publication.publish" in res.stdout
    assert "metrics_assets.orchestration.run_log -> metrics_assets.ingest.raw_assets" in res.stdout


def _function_level_imports(path: Path) -> list[tuple[int, bool]]:
    """(line, explained) of each import inside a function: explained when the import block it
    belongs to is preceded by a `# deferred: <why>` comment."""
    src = path.read_text()
    lines = src.splitlines()
    out = []
    for node in ast.walk(ast.parse(src)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import | ast.ImportFrom):
                i = sub.lineno - 2
                while i >= 0 and lines[i].strip().startswith(("import ", "from ")) or (
                    i >= 0 and not lines[i].strip()
                ):
                    i -= 1
                out.append((sub.lineno, i >= 0 and lines[i].strip().startswith("# deferred:")))
    return out


def test_no_unexplained_function_level_import():
    """Imports sit at module level; the few deferred ones say why (a light `--help`, a backend's
    optional driver, a registration cycle)."""
    bad = [
        f"{p.relative_to(ROOT)}:{line}"
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        for line, explained in _function_level_imports(p)
        if not explained
    ]
    assert bad == []


def test_an_unexplained_function_level_import_is_found(tmp_path: Path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    import json\n\n\ndef g():\n    # deferred: why\n    import os\n")
    assert _function_level_imports(f) == [(2, False), (7, True)]
