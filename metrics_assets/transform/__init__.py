"""The dbt project as Dagster assets: the asset, its translator, and the dbt CLI resource."""
