with

source as (

    select * from {{ source('graph', 'subscribed_skus') }}

),

renamed as (

    select
        -- ids
        id as subscribed_sku_id,

        -- properties
        sku_id,
        sku_part_number,
        account_name,
        applies_to,
        capability_status,
        consumed_units,
        prepaid_units__enabled as enabled_units,
        prepaid_units__suspended as suspended_units,
        prepaid_units__warning as warning_units

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
