{#- Daily growth for investors: new persons, churned persons (first closure), net growth and active
    accounts (first signup on or before the day, no closure on or before it). Active accounts are a
    running sum: +1 on the first signup day, -1 on the later of signup and first closure day. -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}

with spine as (
    {{ date_spine(w['start'], w['end'], 'day') }}
),

persons as (
    select first_signup_date, first_closure_date
    from {{ ref('dim_persons') }}
),

new_users as (
    select first_signup_date as day, count(*) as n
    from persons
    where {{ in_window('first_signup_date') }}
    group by first_signup_date
),

churned as (
    select first_closure_date as day, count(*) as n
    from persons
    where {{ in_window('first_closure_date') }}
    group by first_closure_date
),

deltas as (
    select first_signup_date as day, 1 as delta from persons
    union all
    select greatest(first_signup_date, first_closure_date) as day, -1 as delta
    from persons
    where first_closure_date is not null
),

active_before as (
    select coalesce(sum(delta), 0) as n from deltas where day < {{ window_start() }}
),

active_moves as (
    select s.day, coalesce(sum(d.delta), 0) as delta
    from spine as s
    left join deltas as d on d.day = s.day
    group by s.day
)

select
    m.day,
    coalesce(n.n, 0) as new_users,
    coalesce(c.n, 0) as churned_users,
    coalesce(n.n, 0) - coalesce(c.n, 0) as net_growth,
    cast((select n from active_before) + sum(m.delta) over (order by m.day rows between unbounded preceding and current row)
        as {{ dbt.type_bigint() }}) as active_accounts,
    {{ metrics_version_columns() }}
from active_moves as m
left join new_users as n on n.day = m.day
left join churned as c on c.day = m.day
where m.day >= (select min(first_signup_date) from persons)
