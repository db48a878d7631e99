{#- One row per person (email hash of non-bot signups): the first signup record (earliest, then
    lowest user id) gives first_user_id, first_signup_at and the acquisition channel; the first
    closure of any of the person's user ids is their churn. Closures of unknown user ids are data
    errors (agg_signup_quality_daily), never churn. Full rebuild. -#}

with signups as (
    select
        person_id,
        user_id,
        signed_up_at,
        signup_date,
        channel,
        country,
        row_number() over (partition by person_id order by signed_up_at, user_id) as signup_rank,
        count(*) over (partition by person_id) as user_ids
    from {{ ref('dim_users') }}
    where person_id is not null
),

closures as (
    select u.person_id, min(c.closed_at) as first_closure_at
    from {{ ref('stg_account_closures') }} as c
    inner join {{ ref('dim_users') }} as u on u.user_id = c.user_id
    where u.person_id is not null
    group by u.person_id
)

select
    s.person_id,
    s.user_id as first_user_id,
    s.signed_up_at as first_signup_at,
    s.signup_date as first_signup_date,
    s.channel as acquisition_channel,
    s.country,
    s.user_ids,
    c.first_closure_at,
    cast(c.first_closure_at as date) as first_closure_date,
    {{ metrics_version_columns() }}
from signups as s
left join closures as c on c.person_id = s.person_id
where s.signup_rank = 1
