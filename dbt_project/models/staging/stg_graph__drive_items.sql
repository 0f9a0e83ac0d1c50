with

source as (

    select * from {{ source('graph', 'drive_items') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as drive_item_key,
        id as drive_item_id,
        user_id,

        -- properties
        name,
        size as size_bytes,
        web_url,
        file__mime_type as mime_type,
        file__mime_type is not null as is_file,
        parent_reference__id as parent_item_id,
        parent_reference__drive_id as drive_id,
        shared__scope as shared_scope,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
