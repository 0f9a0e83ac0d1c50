with

source as (

    select * from {{ source('graph', 'site_lists') }}

),

renamed as (

    select
        -- ids
        id as list_id,
        site_id,

        -- properties
        name as list_name,
        display_name,
        description,
        web_url,
        {{ json_text('list', 'template') }} as template,
        {{ json_text('list', 'template') }} = 'documentLibrary' as is_document_library,
        coalesce({{ json_text('list', 'hidden') }} = 'true', false) as is_hidden,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
