with

source as (

    select * from {{ source('graph', 'library_items') }}

),

renamed as (

    select
        -- ids (the key is drive_id/item_id)
        id as library_item_key,
        item_id,
        drive_id,

        -- properties
        name,
        size as size_bytes,
        file is not null as is_file,
        {{ json_text('file', 'mimeType') }} as mime_type,
        web_url,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
