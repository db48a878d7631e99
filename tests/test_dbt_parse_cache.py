"""dbt's parse is kept per warehouse from one run to the next (metrics_assets/transform/dbt_parse_cache.py);
that the runs then skip parsing is asserted on the replayed month (tests/test_daily_replay.py)."""

from pathlib import Path

from metrics_assets.transform import dbt_parse_cache as cache


def test_a_run_starts_from_the_parse_the_last_run_on_its_warehouse_left(tmp_path: Path) -> None:
    project = tmp_path / "target"
    first = cache.run_target(project, "metrics_dbt_models", "0123456789")
    assert first.name.startswith("metrics_dbt_models-0123456-")
    assert not cache.seed(first, project, "duckdb:/a.duckdb"), "nothing kept yet"
    first.mkdir(parents=True)
    (first / cache.PARSE_FILE).write_bytes(b"parse of a")
    assert cache.keep(first, project, "duckdb:/a.duckdb") is None

    second = cache.run_target(project, "metrics_dbt_models", "0123456789")
    assert second != first
    assert cache.seed(second, project, "duckdb:/a.duckdb")
    assert (second / cache.PARSE_FILE).read_bytes() == b"parse of a"
    # another warehouse (another world, another test worker) neither sees nor replaces it
    other = tmp_path / "other"
    assert not cache.seed(other, project, "duckdb:/b.duckdb")
    other.mkdir()
    (other / cache.PARSE_FILE).write_bytes(b"parse of b")
    cache.keep(other, project, "duckdb:/b.duckdb")
    third = tmp_path / "third"
    cache.seed(third, project, "duckdb:/a.duckdb")
    assert (third / cache.PARSE_FILE).read_bytes() == b"parse of a"


def test_an_invocation_that_wrote_no_parse_says_so(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert "not written" in (cache.keep(run, tmp_path / "target", "duckdb:/a.duckdb") or "")
