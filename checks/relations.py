"""Where a dbt model lives in the warehouse (schema.table), read from the dbt manifest.

Checks name models as the catalogue does (`fct_order_profit`); the schema comes from the dbt
project (the generate_schema_name macro), so a schema rename never needs a check change.
"""

from __future__ import annotations

import json
from functools import cache

from metrics_core.paths import DBT_PROJECT_DIR

DEFAULT_SCHEMA = "marts"
PREFIX_SCHEMAS = {"stg_": "staging", "int_": "intermediate"}  # the dbt project's folder convention


@cache
def _manifest_relations() -> dict[str, str]:
    path = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        return {}
    nodes = json.loads(path.read_text()).get("nodes", {})
    return {
        n["name"]: f"{n['schema']}.{n.get('alias') or n['name']}"
        for n in nodes.values()
        if n.get("resource_type") == "model"
    }


def relation(model: str) -> str:
    """`schema.table` of a dbt model; by folder convention when the manifest is not built yet."""
    found = _manifest_relations().get(model)
    if found:
        return found
    schema = next((s for p, s in PREFIX_SCHEMAS.items() if model.startswith(p)), DEFAULT_SCHEMA)
    return f"{schema}.{model}"
