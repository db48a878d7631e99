"""Source contracts: every schema and key violation is named with its table, column and change."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from checks.contracts import SCHEMAS, canonical_type, check_source_contract
from metrics_assets.generator import ensure_raw_tables, write_partitions
from metrics_core.sources import SOURCES

DAY = date(2025, 3, 4)


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("contracts") / "clean.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)
        for s in SOURCES:
            write_partitions(con, s, date(2025, 3, 2), date(2025, 3, 6), scale_factor=0.05, seed=7,
                             launch_date=date(2025, 1, 1))
    return path


@pytest.fixture
def con(clean_db, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(clean_db, path)
    c = duckdb.connect(str(path))
    yield c
    c.close()


def test_every_source_passes_on_clean_generated_data(con):
    for s in SOURCES:
        res = check_source_contract(con, s, DAY)
        assert res.passed, res.message
        assert res.rows is not None and res.rows >= 0


def test_renamed_column_is_named(con):
    con.execute("ALTER TABLE raw.orders RENAME COLUMN gross_amount TO amount_gross")
    res = check_source_contract(con, "orders", DAY)
    assert not res.passed
    assert res.message == "raw.orders.gross_amount: column renamed to amount_gross (DECIMAL(18,2))"


def test_int_to_decimal_and_decimal_to_double_are_named(con):
    con.execute("ALTER TABLE raw.orders ALTER COLUMN user_id TYPE DECIMAL(18,2)")
    con.execute("ALTER TABLE raw.orders ALTER COLUMN gross_amount TYPE DOUBLE")
    msg = check_source_contract(con, "orders", DAY).message
    assert "raw.orders.user_id: type changed BIGINT -> DECIMAL(18,2)" in msg
    assert "raw.orders.gross_amount: type changed DECIMAL(18,2) -> DOUBLE" in msg


def test_missing_and_extra_columns_are_named(con):
    con.execute("ALTER TABLE raw.payments DROP COLUMN processor_fee")
    con.execute("ALTER TABLE raw.payments ADD COLUMN fee_cents BIGINT")
    con.execute("ALTER TABLE raw.payments ADD COLUMN note VARCHAR")
    res = check_source_contract(con, "payments", DAY)
    kinds = {v.kind: v.message for v in res.violations}
    assert kinds["missing_column"] == "raw.payments.processor_fee: column missing (expected DECIMAL(18,2))"
    assert "raw.payments.note: unexpected new column (VARCHAR)" in res.message
    assert "raw.payments.fee_cents: unexpected new column (BIGINT)" in res.message


def test_null_key_is_named(con):
    con.execute(f"UPDATE raw.orders SET order_id = NULL WHERE order_id IN (SELECT order_id FROM raw.orders "
                f"WHERE created_at >= DATE '{DAY}' AND created_at < DATE '{DAY}' + 1 LIMIT 2)")
    res = check_source_contract(con, "orders", DAY)
    assert [v.kind for v in res.violations] == ["null_values"]
    assert res.message == f"raw.orders.order_id: 2 NULL value(s) in key column on {DAY}"
    assert res.null_counts == {"order_id": 2}
    # other days are not this partition's problem
    assert check_source_contract(con, "orders", date(2025, 3, 3)).passed


def test_duplicate_key_is_named(con):
    con.execute(f"INSERT INTO raw.users SELECT * FROM raw.users WHERE signed_up_at >= DATE '{DAY}' "
                f"AND signed_up_at < DATE '{DAY}' + 1 LIMIT 1")
    res = check_source_contract(con, "users", DAY)
    assert [v.kind for v in res.violations] == ["duplicate_key"]
    assert res.message == f"raw.users.user_id: 1 duplicated key value(s) (1 extra row(s)) on {DAY}"
    assert res.duplicate_keys == 1


def test_nullable_column_made_not_null_is_a_change(con):
    con.execute("UPDATE raw.app_events SET user_id = coalesce(user_id, 0)")
    con.execute("ALTER TABLE raw.app_events ALTER COLUMN user_id SET NOT NULL")
    msg = check_source_contract(con, "app_events", DAY).message
    assert msg == "raw.app_events.user_id: nullability changed nullable -> NOT NULL"


def test_sample_value_domain_violation(con):
    con.execute(f"UPDATE raw.orders SET status = 'refunded' WHERE order_id = "
                f"(SELECT min(order_id) FROM raw.orders "
                f"WHERE created_at >= DATE '{DAY}' AND created_at < DATE '{DAY}' + 1)")
    res = check_source_contract(con, "orders", DAY)
    assert [v.kind for v in res.violations] == ["sample_invalid"]
    assert res.message.startswith("raw.orders.status: 1 sample value(s) fail isin")
    assert "refunded" in res.message


def test_missing_table(con):
    con.execute("DROP TABLE raw.fx_rates")
    assert check_source_contract(con, "fx_rates", DAY).message == "raw.fx_rates: table does not exist"


def test_pandera_schema_mirrors_the_contract():
    for name, src in SOURCES.items():
        schema = SCHEMAS[name]
        assert list(schema.columns) == [c.name for c in src.columns]
        assert schema.strict is True
        for c in src.columns:
            assert schema.columns[c.name].nullable == c.nullable
        assert (schema.unique or []) == list(src.primary_key)
    with pytest.raises(Exception, match="order_id"):
        SCHEMAS["fx_rates"].validate(pd.DataFrame({"order_id": [1]}), lazy=True)


@pytest.mark.parametrize(("raw", "canon"), [
    ("BIGINT", "INTEGER"), ("INTEGER", "INTEGER"), ("NUMBER(38,0)", "INTEGER"),
    ("DECIMAL(18,2)", "DECIMAL(18,2)"),
    ("NUMBER(18,2)", "DECIMAL(18,2)"), ("TEXT", "VARCHAR"), ("VARCHAR(16777216)", "VARCHAR"),
    ("TIMESTAMP_NTZ", "TIMESTAMP"), ("TIMESTAMP_TZ", "TIMESTAMPTZ"), ("FLOAT", "DOUBLE"),
])
def test_type_names_are_normalised_across_backends(raw, canon):
    assert canonical_type(raw) == canon
    assert canonical_type("NUMBER", 38, 0) == "INTEGER"
