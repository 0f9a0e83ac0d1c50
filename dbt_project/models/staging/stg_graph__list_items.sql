with

source as (

    select * from {{ source('graph', 'list_items') }}

),

renamed as (

    select
        -- ids (SharePoint numbers items per list: the key is list_id/item_id)
        id as list_item_key,
        item_id,
        list_id,
        site_id,

        -- properties
        {{ json_text('fields', 'Title') }} as title,
        fields,
        web_url,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
