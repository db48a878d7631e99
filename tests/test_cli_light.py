"""`metrics --help` is instant: the top level lists the command families without importing them,
and each family imports only its own module."""

import json
import subprocess
import sys

import pytest

from metrics_assets.cli import FAMILIES

HEAVY = ("dagster", "dbt", "pandas", "duckdb", "numpy", "ortools", "pydantic")

PROBE = """
import json, sys
from metrics_assets.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def _loaded(*argv: str) -> tuple[set[str], str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    *out, last = res.stdout.strip().splitlines()
    return set(json.loads(last)), "\n".join(out)


def test_top_level_help_imports_nothing_heavy():
    loaded, out = _loaded("--help")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    text = " ".join(out.split())  # argparse wraps long help lines
    for name, family in FAMILIES.items():
        assert name in text and family.help in text


@pytest.mark.parametrize("family", ["up", "faults", "incidents", "checks"])
def test_light_families_stay_light(family: str):
    loaded, out = _loaded(family, "--help")
    assert "usage: metrics " + family in out
    assert "dagster" not in loaded


def test_every_family_builds_its_parser():
    for name in FAMILIES:
        loaded, out = _loaded(name, "--help")
        assert f"usage: metrics {name}" in out, name


def test_unknown_family_is_a_usage_error():
    res = subprocess.run(
        [sys.executable, "-m", "metrics_assets.cli", "nope"], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "invalid choice: 'nope'" in res.stderr
