{#- The custom schema is the schema (staging, intermediate, marts): no target-schema prefix, so the
    same model lands in the same schema on DuckDB and Snowflake. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema | trim }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
