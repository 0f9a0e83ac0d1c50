with

source as (

    select * from {{ source('graph', 'booking_services') }}

),

renamed as (

    select
        -- ids
        id as service_id,

        -- properties
        business_id,
        display_name,
        description,
        default_duration,
        default_price,
        default_price_type,
        is_hidden_from_customers,
        is_location_online,
        maximum_attendees_count,
        created_date_time as created_at,
        last_updated_date_time as last_updated_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
