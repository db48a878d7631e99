{#- window_replace: a date-grained table whose run replaces exactly the run's window.

    First build, or --full-refresh: create the table as the model's select. After that: delete the
    window's rows (meta.grain_date in the window macros/window.sql derives), then insert the
    recomputed rows straight from the select, in one transaction; a day without rows is cleared,
    and rerunning a window gives identical tables.

    Why a materialization and not dbt's incremental with a custom strategy: dbt-duckdb's
    incremental writes the whole select to a temp table first and the strategy then copies it
    into the target. SF 1 x 30 days, a rebuild of int_app_events_window's window: 27.9 s with the
    temp table, 19.4 s written straight (BENCHMARKS.md, run 6). Portable SQL (DELETE, INSERT ...
    SELECT), so DuckDB and Snowflake run the same statements.

    --full-refresh drops the table and creates it from this run's select, i.e. from this run's
    window only (as dbt's incremental full refresh did): run it over the whole history.

    Straight insert is safe only for a model that does not read itself: such a model is refused. -#}
{% materialization window_replace, default %}
    {%- set column = (config.get('meta') or {}).get('grain_date') -%}
    {%- if not column -%}
        {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": materialized='window_replace' needs config meta.grain_date (the date column its window is on)") }}
    {%- endif -%}
    {%- set target = this.incorporate(type='table') -%}
    {%- if (target | string) in compiled_code -%}
        {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": materialized='window_replace' deletes its window before inserting, so the model may not read itself ({{ this }})") }}
    {%- endif -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set rebuild = existing is none or existing.is_view or should_full_refresh() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if rebuild -%}
        {%- if existing is not none -%}
            {% do adapter.drop_relation(existing) %}
        {%- endif -%}
        {%- set build_sql = get_create_table_as_sql(False, target, compiled_code) -%}
    {%- else -%}
        {#- the table's own columns, in its order: a column the select no longer has fails by name -#}
        {%- set cols = adapter.get_columns_in_relation(existing) | map(attribute='quoted') | join(', ') -%}
        {%- set build_sql -%}
            delete from {{ target }} where {{ in_window(column) }};
            insert into {{ target }} ({{ cols }})
            select {{ cols }} from (
                {{ compiled_code }}
            ) as window_rows
        {%- endset -%}
    {%- endif -%}

    {% call statement('main') -%}
        {{ build_sql }}
    {%- endcall %}

    {% do persist_docs(target, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}
