with

source as (

    select * from {{ source('graph', 'booking_staff_members') }}

),

renamed as (

    select
        -- ids
        id as staff_member_id,

        -- properties
        business_id,
        display_name,
        email_address,
        role,
        membership_status,
        use_business_hours,
        created_date_time as created_at,
        last_updated_date_time as last_updated_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
