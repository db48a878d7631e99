{#- Monthly growth: sums of agg_growth_daily's new and churned users; active accounts at the month's
    last day (or, while the month is open, at the last day built in agg_growth_daily) and growth
    rate vs the previous month's last day, both counted straight from dim_persons so the previous
    month needs no rows in agg_growth_daily. -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}
{%- set d = modules.datetime %}
{%- set last_day = (d.date.fromisoformat(w['end']) - d.timedelta(days=1)) %}
{%- set first = d.date.fromisoformat(w['start']) %}
{%- set ns = namespace(months=[], m=(first - d.timedelta(days=1)).replace(day=1)) %}
{%- for _ in range(1200) if ns.m <= last_day %}
    {%- set ns.months = ns.months + [ns.m] %}
    {%- set ns.m = (ns.m + d.timedelta(days=32)).replace(day=1) %}
{%- endfor %}

with months as (
    {%- for m in ns.months %}
    {%- set month_end = ((m + d.timedelta(days=32)).replace(day=1) - d.timedelta(days=1)) %}
    select
        {{ metrics_date(m.isoformat()) }} as month_start,
        {{ metrics_date(month_end.isoformat()) }} as month_end
    {{- " union all" if not loop.last }}
    {%- endfor %}
),

months_as_of as (
    select
        month_start,
        month_end,
        least(month_end, coalesce((select max(day) from {{ ref('agg_growth_daily') }}), month_end)) as as_of
    from months
),

active as (
    select
        m.month_start,
        m.month_end,
        m.as_of,
        cast(sum(case when p.first_signup_date <= m.as_of
                  and (p.first_closure_date is null or p.first_closure_date > m.as_of) then 1 else 0 end)
            as {{ dbt.type_bigint() }}) as active_accounts
    from months_as_of as m
    cross join {{ ref('dim_persons') }} as p
    group by m.month_start, m.month_end, m.as_of
),

flows as (
    select
        {{ period_start('month', 'day') }} as month_start,
        cast(sum(new_users) as {{ dbt.type_bigint() }}) as new_users,
        cast(sum(churned_users) as {{ dbt.type_bigint() }}) as churned_users,
        count(*) as days_reported
    from {{ ref('agg_growth_daily') }}
    where {{ in_window('day') }}
    group by {{ period_start('month', 'day') }}
),

with_prev as (
    select
        a.*,
        lag(a.active_accounts) over (order by a.month_start) as active_accounts_prev_month_end
    from active as a
)

select
    p.month_start,
    p.month_end,
    p.as_of as active_as_of,
    p.as_of = p.month_end as is_closed,
    f.new_users,
    f.churned_users,
    f.new_users - f.churned_users as net_growth,
    f.days_reported,
    p.active_accounts,
    p.active_accounts_prev_month_end,
    {{ safe_ratio('p.active_accounts - p.active_accounts_prev_month_end', 'p.active_accounts_prev_month_end') }} as growth_rate,
    {{ metrics_version_columns() }}
from with_prev as p
inner join flows as f on f.month_start = p.month_start
where {{ in_window('p.month_start') }}
