{#- Data-quality helper for the growth runbook: per signup day, signup records, bot signups and
    their share, repeat signups of an existing person (multi-channel duplicates), and closures of
    user ids that never signed up (a data error, not churn). -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}

with spine as (
    {{ date_spine(w['start'], w['end'], 'day') }}
),

signups as (
    select
        u.signup_date as day,
        count(*) as signups,
        sum(case when u.is_bot_signup then 1 else 0 end) as bot_signups,
        sum(case when not u.is_bot_signup and u.user_id <> p.first_user_id then 1 else 0 end) as repeat_signups
    from {{ ref('dim_users') }} as u
    left join {{ ref('dim_persons') }} as p on p.person_id = u.person_id
    where {{ in_window('u.signup_date') }}
    group by u.signup_date
),

closures as (
    select
        c.closure_date as day,
        count(*) as closures,
        sum(case when u.user_id is null then 1 else 0 end) as closures_unknown_user,
        sum(case when u.is_bot_signup then 1 else 0 end) as closures_bot_user
    from {{ ref('stg_account_closures') }} as c
    left join {{ ref('dim_users') }} as u on u.user_id = c.user_id
    where {{ ts_in_window('c.closed_at') }}
    group by c.closure_date
)

select
    s.day,
    coalesce(g.signups, 0) as signups,
    cast(coalesce(g.bot_signups, 0) as {{ dbt.type_bigint() }}) as bot_signups,
    {{ safe_ratio('g.bot_signups', 'g.signups') }} as bot_signup_share,
    cast(coalesce(g.repeat_signups, 0) as {{ dbt.type_bigint() }}) as repeat_signups,
    coalesce(c.closures, 0) as closures,
    cast(coalesce(c.closures_unknown_user, 0) as {{ dbt.type_bigint() }}) as closures_unknown_user,
    cast(coalesce(c.closures_bot_user, 0) as {{ dbt.type_bigint() }}) as closures_bot_user,
    {{ metrics_version_columns() }}
from spine as s
left join signups as g on g.day = s.day
left join closures as c on c.day = s.day
where s.day >= (select min(signup_date) from {{ ref('dim_users') }})
