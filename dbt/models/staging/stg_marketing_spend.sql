select
    cast(spend_date as date) as spend_date,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(spend_usd as decimal(18, 2)) as spend_usd,
    cast(impressions as {{ dbt.type_bigint() }}) as impressions,
    cast(clicks as {{ dbt.type_bigint() }}) as clicks,
    cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
from {{ source('raw', 'marketing_spend') }}
