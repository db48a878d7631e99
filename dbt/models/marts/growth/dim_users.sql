{#- Every signup record (user id) with its person and bot flag. Bot signups (user agent matches a
    bot pattern) belong to no person: they are dropped before persons are formed. Full rebuild. -#}
{%- set is_bot = regex_search('user_agent', metrics_var('bot_ua_regex', 'parse')) %}

select
    user_id,
    signed_up_at,
    signup_date,
    channel,
    country,
    device_id,
    email_hash,
    {{ is_bot }} as is_bot_signup,
    case when not {{ is_bot }} then email_hash end as person_id,
    {{ metrics_version_columns() }}
from {{ ref('stg_users') }}
