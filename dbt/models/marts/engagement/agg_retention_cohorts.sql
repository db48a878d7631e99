{#- Cohort retention: for the persons whose first signup is on day c, the share with a counted event
    (on any of their user ids) on day c + k, for each k in var retention_days (D1, D7, D30).
    A share is null while day c + k is later than the last day built in fct_events. The window
    reaches back max(retention_days) days further, because this run's events complete those
    cohorts; it reads events already built after the window, so re-running a sub-window never
    takes back what a wider run observed. -#}
{%- set days = var('retention_days') %}
{{ config(materialized='window_replace') }}


with cohort as (
    select person_id, first_signup_date as cohort_date
    from {{ ref('dim_persons') }}
    where {{ in_window('first_signup_date') }}
),

activity as (
    select distinct u.person_id, e.event_date
    from {{ ref('fct_events') }} as e
    inner join {{ ref('dim_users') }} as u on u.user_id = e.user_id
    where {{ in_window('e.event_date', days_before=-(days | min), days_after=days | max) }}
      and u.person_id is not null
),

retained as (
    select
        c.cohort_date,
        c.person_id,
        {%- for k in days %}
        max(case when a.event_date = {{ add_days('c.cohort_date', k) }} then 1 else 0 end) as d{{ k }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from cohort as c
    left join activity as a
        on a.person_id = c.person_id
       and a.event_date in ({% for k in days %}{{ add_days('c.cohort_date', k) }}{{ ", " if not loop.last }}{% endfor %})
    group by c.cohort_date, c.person_id
),

built as (
    select max(event_date) as last_day from {{ ref('fct_events') }}
)

select
    cohort_date,
    count(*) as cohort_size,
    {%- for k in days %}
    case when {{ add_days('cohort_date', k) }} <= (select last_day from built) then cast(sum(d{{ k }}) as {{ dbt.type_bigint() }}) end as d{{ k }}_retained,
    case when {{ add_days('cohort_date', k) }} <= (select last_day from built) then {{ safe_ratio('sum(d' ~ k ~ ')', 'count(*)') }} end
        as d{{ k }}_retention,
    {%- endfor %}
    {{ metrics_version_columns() }}
from retained
group by cohort_date
