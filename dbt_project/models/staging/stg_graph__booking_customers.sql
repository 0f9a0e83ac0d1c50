with

source as (

    select * from {{ source('graph', 'booking_customers') }}

),

renamed as (

    select
        -- ids
        id as customer_id,

        -- properties
        business_id,
        display_name,
        email_address,
        created_date_time as created_at,
        last_updated_date_time as last_updated_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
