with

source as (

    select * from {{ source('graph', 'rooms') }}

),

renamed as (

    select
        -- ids
        id as room_id,
        lower(email_address) as room_address,

        -- properties
        display_name as room_name,
        nickname,
        label,
        capacity,
        building,
        floor_number,
        floor_label,
        booking_type,
        is_wheel_chair_accessible as is_wheelchair_accessible,
        audio_device_name is not null as has_audio_device,
        video_device_name is not null as has_video_device,
        display_device_name is not null as has_display_device,
        {{ json_text('address', 'city') }} as city,
        {{ json_text('address', 'countryOrRegion') }} as country_or_region,
        phone,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
