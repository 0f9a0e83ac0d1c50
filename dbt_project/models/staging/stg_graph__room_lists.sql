with

source as (

    select * from {{ source('graph', 'room_lists') }}

),

renamed as (

    select
        -- ids
        id as room_list_id,
        lower(email_address) as room_list_address,

        -- properties
        display_name as room_list_name,
        {{ json_text('address', 'city') }} as city,
        {{ json_text('address', 'countryOrRegion') }} as country_or_region,
        phone,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
