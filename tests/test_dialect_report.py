"""scripts/dialect_report.py: a DuckDB-only construct planted in a model (or in the Snowflake variant
of a macro it calls) is reported; the project's models have none."""

import importlib.util
import shutil
from pathlib import Path

from metrics_core.paths import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("dialect_report", PROJECT_ROOT / "scripts/dialect_report.py")
dialect_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dialect_report)

MODELS, MACROS = PROJECT_ROOT / "dbt" / "models", PROJECT_ROOT / "dbt" / "macros"


def test_the_real_models_use_no_duckdb_only_construct(capsys):
    result = dialect_report.report()
    models = {k for k in result if not k.startswith("macro:")}
    assert len(models) == len(list(MODELS.rglob("*.sql"))) >= 20
    assert {k: v for k, v in result.items() if v} == {}
    assert dialect_report.main([]) == 0
    assert "0 with a DuckDB-only construct" in capsys.readouterr().out


def test_a_planted_construct_is_found(tmp_path: Path, capsys):
    models, macros = tmp_path / "models", tmp_path / "macros"
    shutil.copytree(MODELS, models)
    shutil.copytree(MACROS, macros)
    (models / "marts" / "planted.sql").write_text(
        "{# strftime(x) in a Jinja comment is not SQL #}\n"
        "{%- for _ in range(3) %}{%- endfor %}\n"
        "select strftime(order_date, '%Y-%m') as month,  -- list_value(1) in a comment is not SQL\n"
        "       'unnest(x) in a string' as s,\n"
        "       {{ add_days('order_date', 1) }} as next_day\n"
        "from {{ ref('fct_order_profit') }}\n"
        "qualify row_number() over (partition by month order by order_date) = 1\n"
    )
    result = dialect_report.report(models, macros)
    (found,) = result["planted"]  # not the Jinja, the comment, the string, QUALIFY or add_days' Snowflake SQL
    assert found.startswith("planted.sql:3: strftime / strptime: select strftime(order_date, '%Y-%m')")
    assert [k for k, v in result.items() if v] == ["planted"]

    # a dispatched macro whose Snowflake variant is DuckDB SQL is found in every model calling it
    cross_db = macros / "cross_db.sql"
    snowflake_sql = "cast(dateadd(day, {{ n }}, {{ date_expr }}) as date)"
    assert snowflake_sql in cross_db.read_text()
    duckdb_sql = "cast({{ date_expr }} + interval 1 day as date)"
    cross_db.write_text(cross_db.read_text().replace(snowflake_sql, duckdb_sql))
    result = dialect_report.report(models, macros)
    assert "macro default__add_days: unquoted interval (interval 1 day): " in result["planted"][-1]
    assert "agg_retention_cohorts" in [k for k, v in result.items() if v]
    assert dialect_report.main(["--models", str(models), "--macros", str(macros)]) == 1
    assert "planted" in capsys.readouterr().out


def test_a_construct_in_the_window_replace_materialization_is_found_in_its_models(tmp_path: Path):
    """The materialization's DELETE and INSERT go to Snowflake with every model that names it."""
    models, macros = tmp_path / "models", tmp_path / "macros"
    shutil.copytree(MODELS, models)
    shutil.copytree(MACROS, macros)
    mat = macros / "materializations" / "window_replace.sql"
    clean = "delete from {{ target }} where {{ in_window(column) }};"
    assert clean in mat.read_text()
    mat.write_text(
        mat.read_text().replace(clean, clean[:-1] + " and {{ column }} > today() - interval 1 day;")
    )
    result = dialect_report.report(models, macros)
    bad = sorted(k for k, v in result.items() if v)
    assert "fct_events" in bad and "agg_profit_daily" in bad and "stg_orders" not in bad
    assert any("materialization_window_replace: unquoted interval" in f for f in result["fct_events"])
