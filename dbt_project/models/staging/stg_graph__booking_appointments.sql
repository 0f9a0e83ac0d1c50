with

source as (

    select * from {{ source('graph', 'booking_appointments') }}

),

renamed as (

    select
        -- ids
        id as appointment_id,

        -- properties
        business_id,
        service_id,
        service_name,
        start_date_time__date_time as starts_at,
        end_date_time__date_time as ends_at,
        duration,
        price,
        price_type,
        is_location_online,
        maximum_attendees_count,
        filled_attendees_count,
        created_date_time as created_at,
        last_updated_date_time as last_updated_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
