{#- The date window a run recomputes and replaces.

    Dagster runs `dbt build` once for [min_date, max_date) (end exclusive). A model recomputes
    [min_date - pad, max_date), read from var lookback_days and the model's `meta` (its YAML):
      lookback_days[model]  its pipeline's lookback (config/pipelines.yaml, keyed by model name):
                            restates late refunds and late churn;
      window_min_days       at least this many days back (engagement: a session crossing midnight);
      window_min_hours_var  at least this var's hours back, in days (growth_daily: activation window);
      window_extra_days_var this many more days back, the max of a list var (retention: the cohorts
                            whose D30 day falls in the window);
      grain_period          month / quarter: whole periods, from the start of the period containing
                            the start to the end of the period containing max_date - 1, so a
                            period's sums always read all of its built days.
    The same function drives the model's SQL, its window_replace materialization
    (macros/materializations/window_replace.sql) and its tests, so they always agree. -#}
{% macro metrics_window(cfg, name=none) -%}
    {%- set meta = cfg.get('meta') or {} -%}
    {%- set name = name or (model.name if model is defined else '?') -%}
    {%- if not execute -%}
        {{ return({'start': '1970-01-01', 'end': '1970-01-02'}) }}
    {%- endif -%}
    {%- set min_date = window_bound('min_date') -%}
    {%- set max_date = window_bound('max_date') -%}
    {%- set lookbacks = metrics_var('lookback_days', {}) -%}
    {%- if name not in lookbacks -%}
        {{ exceptions.raise_compiler_error("model " ~ name ~ " has no entry in var lookback_days: "
            ~ "it is in no pipeline's dbt_models (config/pipelines.yaml)") }}
    {%- endif -%}
    {%- set min_days = meta.get('window_min_days') or 0 -%}
    {%- if meta.get('window_min_hours_var') -%}
        {%- set min_days = [min_days, ((metrics_var(meta.get('window_min_hours_var')) | int) + 23) // 24] | max -%}
    {%- endif -%}
    {%- set extra = 0 -%}
    {%- if meta.get('window_extra_days_var') -%}
        {%- set extra = metrics_var(meta.get('window_extra_days_var')) | max -%}
    {%- endif -%}
    {%- set pad = [lookbacks[name] | int, min_days] | max + extra -%}
    {%- set d = modules.datetime -%}
    {%- set start = d.date.fromisoformat(min_date) - d.timedelta(days=pad) -%}
    {%- set end = d.date.fromisoformat(max_date) -%}
    {%- set period = meta.get('grain_period') or 'day' -%}
    {%- if period in ('month', 'quarter') -%}
        {%- set months = 1 if period == 'month' else 3 -%}
        {%- set start = start.replace(month=((start.month - 1) // months) * months + 1, day=1) -%}
        {%- set last = end - d.timedelta(days=1) -%}
        {%- set m0 = ((last.month - 1) // months) * months + 1 -%}
        {%- set nxt = last.year * 12 + (m0 - 1) + months -%}
        {%- set end = d.date(nxt // 12, nxt % 12 + 1, 1) -%}
    {%- endif -%}
    {{ return({'start': start.isoformat(), 'end': end.isoformat()}) }}
{%- endmacro %}

{#- One end of the run's window: the var when dbt is run by hand (--vars from dbt_vars), else the
    environment Dagster sets for its runs (METRICS_DBT_MIN_DATE / METRICS_DBT_MAX_DATE, from
    metrics_core.dbt_vars.dbt_window_env). Read only when executing: a var that changes from run
    to run makes dbt re-parse the whole project (~2.6 s a run), an environment variable that
    parsing never reads does not. -#}
{% macro window_bound(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {%- set value = env_var('METRICS_DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {%- if not value -%}
        {{ exceptions.raise_compiler_error(
            "dbt var '" ~ name ~ "' is required: run dbt with --vars from metrics_core.dbt_vars.dbt_vars_json(start, end)"
            ~ " or with METRICS_DBT_" ~ (name | upper) ~ " set (metrics_core.dbt_vars.dbt_window_env)") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- The current model's window, as SQL date literals. -#}
{% macro window_start() -%}{{ metrics_date(metrics_window(config)['start']) }}{%- endmacro %}
{% macro window_end() -%}{{ metrics_date(metrics_window(config)['end']) }}{%- endmacro %}

{#- `column` lies in the current model's window; works for DATE and TIMESTAMP columns. -#}
{% macro in_window(column, days_before=0, days_after=0, cfg=none, name=none) -%}
    {%- set w = metrics_window(cfg if cfg is not none else config, name) -%}
    {%- set d = modules.datetime -%}
    {%- set lo = d.date.fromisoformat(w['start']) - d.timedelta(days=days_before) -%}
    {%- set hi = d.date.fromisoformat(w['end']) + d.timedelta(days=days_after) -%}
    {{ column }} >= {{ metrics_date(lo.isoformat()) }} and {{ column }} < {{ metrics_date(hi.isoformat()) }}
{%- endmacro %}

{#- Same, but as timestamp literals: lets the database prune a timestamp column's row groups.
    days_after=none leaves the window open at the end (child rows that land after their order). -#}
{% macro ts_in_window(column, days_before=0, days_after=0) -%}
    {%- set w = metrics_window(config) -%}
    {%- set d = modules.datetime -%}
    {%- set lo = d.date.fromisoformat(w['start']) - d.timedelta(days=days_before) -%}
    {{ column }} >= {{ metrics_ts(lo.isoformat()) }}
    {%- if days_after is not none %}
    {%- set hi = d.date.fromisoformat(w['end']) + d.timedelta(days=days_after) %} and {{ column }} < {{ metrics_ts(hi.isoformat()) }}
    {%- endif -%}
{%- endmacro %}

{#- One row per day of [start, end) (ISO strings), as a literal table: portable and tiny. -#}
{% macro date_spine(start, end, column='day') -%}
    {%- set d = modules.datetime -%}
    {%- set lo = d.date.fromisoformat(start) -%}
    {%- set n = (d.date.fromisoformat(end) - lo).days -%}
    {%- for i in range([n, 0] | max) %}
    select {{ metrics_date((lo + d.timedelta(days=i)).isoformat()) }} as {{ column }}{{ " union all" if not loop.last }}
    {%- else %}
    select {{ metrics_date('1970-01-01') }} as {{ column }} where 1 = 0
    {%- endfor %}
{%- endmacro %}

{#- Tests on date-partitioned tables check only the run's window. dbt_project.yml gives every test
    `where: "__window__"`: the window of the tested model (read from the graph, so test and model
    always agree) on its meta.grain_date (or meta.window_column); a model without one is tested
    whole. `__window__(column)` names the column explicitly. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__window__' in where -%}
        {%- set m = modules.re.search('__window__(\\((\\w+)\\))?', where) -%}
        {%- set predicate = '1 = 1' -%}
        {%- if execute -%}
            {%- set ns = namespace(node=none) -%}
            {%- if model.attached_node and model.attached_node in graph.nodes -%}
                {%- set ns.node = graph.nodes[model.attached_node] -%}
            {%- endif -%}
            {%- set cfg = ns.node.config if ns.node is not none else {} -%}
            {%- set meta = cfg.get('meta') or {} -%}
            {%- set column = m.group(2) or meta.get('grain_date') or meta.get('window_column') -%}
            {%- if column -%}
                {%- set predicate = in_window(column, cfg=cfg, name=ns.node.name) -%}
            {%- endif -%}
        {%- endif -%}
        {%- set where = where.replace(m.group(0), '(' ~ predicate ~ ')') -%}
    {%- endif -%}
    {%- if where -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
