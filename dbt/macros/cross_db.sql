{#- The few expressions whose SQL differs between DuckDB and Snowflake. -#}

{% macro metrics_date(iso) -%}cast('{{ iso }}' as date){%- endmacro %}
{% macro metrics_ts(iso) -%}cast('{{ iso }}' as {{ dbt.type_timestamp() }}){%- endmacro %}

{#- Case-insensitive search for a regular expression anywhere in the string. -#}
{% macro regex_search(expr, pattern) -%}{{ return(adapter.dispatch('regex_search', 'metrics')(expr, pattern)) }}{%- endmacro %}
{% macro duckdb__regex_search(expr, pattern) -%}
    coalesce(regexp_matches({{ expr }}, {{ metrics_str(pattern) }}, 'i'), false)
{%- endmacro %}
{% macro default__regex_search(expr, pattern) -%}
    {#- Snowflake regexes are POSIX: no (?:...) groups; REGEXP_LIKE anchors, REGEXP_INSTR does not. -#}
    coalesce(regexp_instr({{ expr }}, {{ metrics_str(pattern | replace('(?:', '(')) }}, 1, 1, 0, 'i') > 0, false)
{%- endmacro %}

{#- date + n days (n may be an expression), result DATE. -#}
{% macro add_days(date_expr, n) -%}{{ return(adapter.dispatch('add_days', 'metrics')(date_expr, n)) }}{%- endmacro %}
{% macro duckdb__add_days(date_expr, n) -%}cast({{ date_expr }} + cast({{ n }} as integer) as date){%- endmacro %}
{% macro default__add_days(date_expr, n) -%}cast(dateadd(day, {{ n }}, {{ date_expr }}) as date){%- endmacro %}

{#- timestamp + n units (minute, hour), result TIMESTAMP. -#}
{% macro add_time(ts_expr, n, unit) -%}{{ return(adapter.dispatch('add_time', 'metrics')(ts_expr, n, unit)) }}{%- endmacro %}
{% macro duckdb__add_time(ts_expr, n, unit) -%}({{ ts_expr }} + {{ n }} * interval 1 {{ unit }}){%- endmacro %}
{% macro default__add_time(ts_expr, n, unit) -%}dateadd({{ unit }}, {{ n }}, {{ ts_expr }}){%- endmacro %}

{#- Whole days from a to b (b - a). -#}
{% macro days_between(a, b) -%}{{ return(adapter.dispatch('days_between', 'metrics')(a, b)) }}{%- endmacro %}
{% macro duckdb__days_between(a, b) -%}date_diff('day', {{ a }}, {{ b }}){%- endmacro %}
{% macro default__days_between(a, b) -%}datediff(day, {{ a }}, {{ b }}){%- endmacro %}

{#- Seconds from timestamp a to timestamp b, with microseconds, as a double. -#}
{% macro seconds_between(a, b) -%}{{ return(adapter.dispatch('seconds_between', 'metrics')(a, b)) }}{%- endmacro %}
{% macro duckdb__seconds_between(a, b) -%}(date_diff('microsecond', {{ a }}, {{ b }}) / 1000000.0){%- endmacro %}
{% macro default__seconds_between(a, b) -%}(datediff(microsecond, {{ a }}, {{ b }}) / 1000000.0){%- endmacro %}

{#- First day of the month / quarter of a date, as DATE. -#}
{% macro period_start(period, date_expr) -%}cast(date_trunc('{{ period }}', {{ date_expr }}) as date){%- endmacro %}

{#- x / y as a double, null when y is 0 or null. -#}
{% macro safe_ratio(x, y) -%}cast({{ x }} as double precision) / nullif({{ y }}, 0){%- endmacro %}
