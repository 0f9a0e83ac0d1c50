with

source as (

    select * from {{ source('graph', 'booking_businesses') }}

),

renamed as (

    select
        -- ids
        id as business_id,

        -- properties
        display_name,
        business_type,
        email

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
