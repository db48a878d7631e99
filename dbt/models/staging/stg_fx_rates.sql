select
    cast(rate_date as date) as rate_date,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(usd_per_unit as decimal(18, 8)) as usd_per_unit,
    cast(rate_set_version as {{ dbt.type_string() }}) as rate_set_version
from {{ source('raw', 'fx_rates') }}
