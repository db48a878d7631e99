{#- Daily experiment cut of growth: per first-signup day, experiment, variant and acquisition
    channel, the new persons and the activated ones (a counted event on any of the person's user ids
    within activation_window_hours after the first signup). A person's variant is that of any of
    their user ids, assigned at any time. The window reaches back far enough that the last days'
    activation is recomputed once the following day's events exist. -#}
{{ config(materialized='window_replace') }}
{%- set hours = metrics_var('activation_window_hours', 0) | int %}

with new_persons as (
    select person_id, first_signup_at, first_signup_date, acquisition_channel
    from {{ ref('dim_persons') }}
    where {{ in_window('first_signup_date') }}
),

person_users as (
    select u.user_id, u.person_id
    from {{ ref('dim_users') }} as u
    inner join new_persons as p on p.person_id = u.person_id
),

variants as (
    select distinct pu.person_id, a.experiment_id, a.variant
    from {{ ref('stg_experiment_assignments') }} as a
    inner join person_users as pu on pu.user_id = a.user_id
),

activated as (
    select distinct p.person_id
    from new_persons as p
    inner join person_users as pu on pu.person_id = p.person_id
    inner join {{ ref('fct_events') }} as e on e.user_id = pu.user_id
    where {{ in_window('e.event_date', days_after=(hours + 23) // 24) }}
      and e.event_time >= p.first_signup_at
      and e.event_time < {{ add_time('p.first_signup_at', hours, 'hour') }}
)

select
    p.first_signup_date as day,
    v.experiment_id,
    v.variant,
    p.acquisition_channel as channel,
    count(*) as new_users,
    cast(sum(case when a.person_id is not null then 1 else 0 end) as {{ dbt.type_bigint() }}) as activated_users,
    {{ safe_ratio('sum(case when a.person_id is not null then 1 else 0 end)', 'count(*)') }} as activation_rate,
    {{ metrics_version_columns() }}
from new_persons as p
inner join variants as v on v.person_id = p.person_id
left join activated as a on a.person_id = p.person_id
group by p.first_signup_date, v.experiment_id, v.variant, p.acquisition_channel
