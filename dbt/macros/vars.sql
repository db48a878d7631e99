{#- Typed access to the --vars of metrics_assets/dbt_vars.py. A missing var stops the run with a
    message naming it; during parsing (no vars given) a placeholder keeps `dbt parse` working. -#}
{% macro metrics_var(name, placeholder='') -%}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "dbt var '" ~ name ~ "' is required: run dbt with --vars from metrics_assets.dbt_vars.dbt_vars_json(start, end)") }}
        {%- endif -%}
        {{ return(placeholder) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- A SQL string literal (single quotes doubled). -#}
{% macro metrics_str(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{#- `in (...)` list of SQL string literals from a list var. -#}
{% macro metrics_str_list(values) -%}
    ({%- for v in values -%}{{ metrics_str(v) }}{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#- The version columns that every output row carries (shared/spec/pipelines.md: operating standards). -#}
{% macro metrics_version_columns() -%}
    cast({{ metrics_str(metrics_var('metric_definitions_version', 'parse')) }} as {{ dbt.type_string() }}) as metric_definitions_version,
    cast({{ metrics_str(metrics_var('rules_version', 'parse')) }} as {{ dbt.type_string() }}) as rules_version
{%- endmacro %}
