"""Source contracts for the ten raw tables, built from metrics_core/sources.py (the written contract).

Why two layers: a schema change (renamed column, int -> decimal, nullability) must fail closed
with a message naming the table, the column and the change, cheaply, before any data is read.
So `check_source_contract` first compares information_schema with the contract, then counts the
day's null keys and duplicate keys in SQL (over every row of the day, in the warehouse), and only
then validates a bounded sample of rows with the pandera schema (dtypes, nullability, value
domains) - pandas never sees more than `sample_rows` rows.

Works on a DuckDB connection and on a Snowflake DB-API connection (type names are normalised).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pandera.pandas as pa

from metrics_core.rules import metric_rules
from metrics_core.sources import SOURCES, Column, Source

# ---------------------------------------------------------------------------------- types

_INT = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "INT",
    "BIGINT",
    "HUGEINT",
    "INT1",
    "INT2",
    "INT4",
    "INT8",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "LONG",
    "SHORT",
    "BYTEINT",
}
_TEXT = {"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "CHARACTER", "CHARACTER VARYING", "NVARCHAR"}
_FLOAT = {"DOUBLE", "FLOAT", "FLOAT4", "FLOAT8", "REAL", "DOUBLE PRECISION"}
_TS = {"TIMESTAMP", "TIMESTAMP_NTZ", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE"}
_TSTZ = {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_TZ", "TIMESTAMP_LTZ"}
_DEC = re.compile(r"^(?:DECIMAL|NUMERIC|NUMBER)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def canonical_type(type_name: str, precision: int | None = None, scale: int | None = None) -> str:
    """A backend-neutral type name: integer widths collapse (widening is not a contract break),
    VARCHAR(n)/TEXT -> VARCHAR, Snowflake NUMBER(p,0) -> INTEGER, NUMBER(p,s) -> DECIMAL(p,s)."""
    t = re.sub(r"\s+", " ", type_name.strip().upper())
    if t in ("NUMBER", "DECIMAL", "NUMERIC") and precision is not None:
        t = f"{t}({precision},{scale or 0})"
    base = re.sub(r"\(.*\)$", "", t).strip()
    if base in _INT:
        return "INTEGER"
    if base in _TEXT:
        return "VARCHAR"
    if base in _FLOAT:
        return "DOUBLE"
    if base in _TS or t.startswith("TIMESTAMP_NTZ"):
        return "TIMESTAMP"
    if base in _TSTZ:
        return "TIMESTAMPTZ"
    if m := _DEC.match(t):
        p, s = int(m.group(1)), int(m.group(2))
        return "INTEGER" if s == 0 and t.startswith("NUMBER") else f"DECIMAL({p},{s})"
    return t


def _pandas_dtype(col: Column) -> Any:
    """The dtype the contract column takes in a pandas sample (nullable pandas dtypes, coerced)."""
    c = canonical_type(col.type)
    if c == "INTEGER":
        return "Int64"
    if c.startswith("DECIMAL") or c == "DOUBLE":
        return "float64"
    if c in ("TIMESTAMP", "DATE"):
        return "datetime64[ns]"
    if c == "BOOLEAN":
        return "boolean"
    if c == "VARCHAR":
        return pd.StringDtype()
    raise ValueError(f"contract type {col.type!r} of column {col.name} has no pandas mapping")


def _value_checks(source: Source, col: Column) -> list[pa.Check]:
    """Value domains the contract can state from config: enumerations and non-negative money."""
    rules = metric_rules()
    checks: list[pa.Check] = []
    if (source.name, col.name) == ("orders", "status"):
        checks.append(pa.Check.isin(rules.order_statuses))
    if (source.name, col.name) == ("order_costs", "cost_type"):
        checks.append(pa.Check.isin(rules.cost_types))
    if col.name == "currency":
        checks.append(pa.Check.str_length(3, 3))
    if canonical_type(col.type).startswith("DECIMAL") or col.name in ("impressions", "clicks"):
        checks.append(pa.Check.ge(0))
    return checks


def build_schema(source: str | Source) -> pa.DataFrameSchema:
    """The pandera contract of one raw source: exact columns (strict), dtypes, nullability, unique key."""
    src = SOURCES[source] if isinstance(source, str) else source
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(
                _pandas_dtype(c),
                nullable=c.nullable,
                checks=_value_checks(src, c),
                description=c.description or None,
            )
            for c in src.columns
        },
        strict=True,
        coerce=True,
        unique=list(src.primary_key) or None,
        name=src.table,
    )


SCHEMAS: dict[str, pa.DataFrameSchema] = {name: build_schema(s) for name, s in SOURCES.items()}

# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Violation:
    kind: str  # missing_table | missing_column | renamed_column | extra_column | type_changed |
    #            nullability_changed | null_values | duplicate_key | sample_invalid
    column: str | None
    message: str


@dataclass(frozen=True)
class ContractResult:
    source: str
    table: str
    day: date
    violations: tuple[Violation, ...]
    rows: int | None  # rows of the day (None when the partition column is unusable)
    sampled: int
    null_counts: dict[str, int] = field(default_factory=dict)
    duplicate_keys: int = 0  # key values that occur more than once in the day

    @property
    def passed(self) -> bool:
        return not self.violations

    @property
    def message(self) -> str:
        if self.passed:
            day = self.day.isoformat()
            return f"{self.table}: contract holds for {day} ({self.rows} rows, {self.sampled} sampled)"
        return "; ".join(v.message for v in self.violations)

    def metadata(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "day": self.day.isoformat(),
            "passed": self.passed,
            "rows": self.rows,
            "sampled": self.sampled,
            "duplicate_keys": self.duplicate_keys,
            "null_counts": dict(self.null_counts),
            "violations": [v.message for v in self.violations],
            "violation_kinds": sorted({v.kind for v in self.violations}),
        }


# ---------------------------------------------------------------------------------- SQL access


def _rows(con: Any, sql: str) -> tuple[list[tuple], list[str]]:
    """Run SQL on a duckdb connection or a DB-API (Snowflake) connection; rows and lower-case names."""
    cur = con.execute(sql) if hasattr(con, "sql") else con.cursor()
    if not hasattr(con, "sql"):
        cur.execute(sql)
    names = [d[0].lower() for d in (cur.description or [])]
    return cur.fetchall(), names


def actual_columns(con: Any, table: str) -> list[dict[str, Any]]:
    """The table's columns from information_schema (name, type, nullable, position), in order."""
    schema, name = table.split(".")
    rows, names = _rows(
        con,
        f"""
        SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale, ordinal_position
        FROM information_schema.columns
        WHERE upper(table_schema) = upper('{schema}') AND upper(table_name) = upper('{name}')
        ORDER BY ordinal_position""",
    )
    out = []
    for r in rows:
        d = dict(zip(names, r, strict=True))
        dt = str(d["data_type"])
        shown = f"{dt}({d['numeric_precision']},{d['numeric_scale']})" if dt.upper() == "NUMBER" else dt
        out.append(
            {
                "name": str(d["column_name"]).lower(),
                "type": shown,
                "canonical": canonical_type(dt, d["numeric_precision"], d["numeric_scale"]),
                "nullable": str(d["is_nullable"]).upper() in ("YES", "Y", "TRUE"),
                "position": int(d["ordinal_position"]),
            }
        )
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _day_filter(col: str, day: date) -> str:
    nxt = day + timedelta(days=1)
    return f"{_q(col)} >= DATE '{day.isoformat()}' AND {_q(col)} < DATE '{nxt.isoformat()}'"


# ---------------------------------------------------------------------------------- the check


def schema_violations(
    src: Source, actual: list[dict[str, Any]], *, allow_extra: bool = False
) -> list[Violation]:
    """Compare information_schema columns with the contract: renamed/missing/extra, type, nullability."""
    t = src.table
    if not actual:
        return [Violation("missing_table", None, f"{t}: table does not exist")]
    by_name = {a["name"]: a for a in actual}
    want = {c.name: c for c in src.columns}
    missing = [c for c in src.columns if c.name not in by_name]
    extra = [a for a in actual if a["name"] not in want]
    out: list[Violation] = []
    positions = {c.name: i + 1 for i, c in enumerate(src.columns)}
    for c in missing:
        same_type = [a for a in extra if a["canonical"] == canonical_type(c.type)]
        match = next((a for a in same_type if a["position"] == positions[c.name]), None)
        if match is None and len(missing) == 1 and len(same_type) == 1:
            match = same_type[0]
        if match is not None:
            extra.remove(match)
            out.append(
                Violation(
                    "renamed_column",
                    c.name,
                    f"{t}.{c.name}: column renamed to {match['name']} ({match['type']})",
                )
            )
        else:
            out.append(
                Violation("missing_column", c.name, f"{t}.{c.name}: column missing (expected {c.type})")
            )
    if not allow_extra:
        out += [
            Violation("extra_column", a["name"], f"{t}.{a['name']}: unexpected new column ({a['type']})")
            for a in extra
        ]
    for c in src.columns:
        a = by_name.get(c.name)
        if a is None:
            continue
        if a["canonical"] != canonical_type(c.type):
            out.append(
                Violation("type_changed", c.name, f"{t}.{c.name}: type changed {c.type} -> {a['type']}")
            )
        if c.nullable and not a["nullable"]:
            out.append(
                Violation(
                    "nullability_changed", c.name, f"{t}.{c.name}: nullability changed nullable -> NOT NULL"
                )
            )
    return out


def check_source_contract(
    con: Any, source: str, day: date, *, sample_rows: int = 1000, allow_extra: bool = False
) -> ContractResult:
    """Check raw.<source> for partition `day` against its contract; see the module docstring."""
    if source not in SOURCES:
        raise KeyError(f"unknown raw source {source!r}; known sources are {sorted(SOURCES)}")
    src = SOURCES[source]
    actual = actual_columns(con, src.table)
    violations = schema_violations(src, actual, allow_extra=allow_extra)
    present = {a["name"] for a in actual}
    if not actual or src.partition_column not in present:
        if actual:
            violations.append(
                Violation(
                    "missing_column",
                    src.partition_column,
                    f"{src.table}.{src.partition_column}: partition column unusable; day's rows not checked",
                )
            )
        return ContractResult(source, src.table, day, tuple(violations), None, 0)

    where = _day_filter(src.partition_column, day)
    required = [c.name for c in src.columns if not c.nullable and c.name in present]
    null_exprs = ", ".join(f"count(*) - count({_q(c)})" for c in required)
    (counts,), _ = _rows(
        con, f"SELECT count(*){', ' + null_exprs if null_exprs else ''} FROM {src.table} WHERE {where}"
    )
    n_rows = int(counts[0])
    null_counts = {c: int(n) for c, n in zip(required, counts[1:], strict=True) if n}
    for c, n in null_counts.items():
        what = "key column" if c in src.primary_key else "non-nullable column"
        violations.append(
            Violation("null_values", c, f"{src.table}.{c}: {n} NULL value(s) in {what} on {day}")
        )

    dup_keys = 0
    if src.primary_key and all(k in present for k in src.primary_key):
        keys = ", ".join(_q(k) for k in src.primary_key)
        not_null = " AND ".join(f"{_q(k)} IS NOT NULL" for k in src.primary_key)
        (row,), _ = _rows(
            con,
            f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n "
            f"FROM {src.table} WHERE {where} AND {not_null} GROUP BY {keys} HAVING count(*) > 1) d",
        )
        dup_keys, dup_rows = int(row[0]), int(row[1])
        if dup_keys:
            violations.append(
                Violation(
                    "duplicate_key",
                    ",".join(src.primary_key),
                    f"{src.table}.{'+'.join(src.primary_key)}: {dup_keys} duplicated key value(s) "
                    f"({dup_rows} extra row(s)) on {day}",
                )
            )

    sampled = 0
    if not any(v.kind in ("missing_column", "renamed_column", "type_changed") for v in violations):
        rows, names = _rows(con, f"SELECT * FROM {src.table} WHERE {where} LIMIT {int(sample_rows)}")
        sampled = len(rows)
        if rows:
            violations += _sample_violations(src, pd.DataFrame(rows, columns=names), violations)
    return ContractResult(source, src.table, day, tuple(violations), n_rows, sampled, null_counts, dup_keys)


def _sample_violations(src: Source, df: pd.DataFrame, already: list[Violation]) -> list[Violation]:
    """pandera on the sample; failures the SQL counts already reported are not repeated."""
    try:
        SCHEMAS[src.name].validate(df, lazy=True)
        return []
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    seen_null = {v.column for v in already if v.kind == "null_values"}
    seen_dup = any(v.kind == "duplicate_key" for v in already)
    seen_extra = {v.column for v in already if v.kind == "extra_column"}
    out: list[Violation] = []
    for (col, check), grp in fc.groupby(["column", "check"], dropna=False, sort=True):
        check = str(check)
        if check == "not_nullable" and col in seen_null:
            continue
        if seen_dup and ("unique" in check or "duplicates" in check):
            continue
        if check == "column_in_schema" and set(grp["failure_case"].astype(str)) <= seen_extra:
            continue
        examples = ", ".join(sorted({str(x) for x in grp["failure_case"].head(3)}))
        column = None if pd.isna(col) else str(col)
        where = f"{src.table}.{column}" if column and column != src.table else src.table
        out.append(
            Violation(
                "sample_invalid",
                column,
                f"{where}: {len(grp)} sample value(s) fail {check} (e.g. {examples})",
            )
        )
    return out


# public name for callers that validate their own (bounded) samples, e.g. checks/sources.py
sample_violations = _sample_violations
