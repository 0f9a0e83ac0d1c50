with

source as (

    select * from {{ source('graph', 'site_drives') }}

),

renamed as (

    select
        -- ids
        id as drive_id,
        site_id,
        group_id,

        -- properties
        name as library_name,
        drive_type,
        web_url,
        cast({{ json_text('quota', 'used') }} as bigint) as quota_used_bytes,
        cast({{ json_text('quota', 'total') }} as bigint) as quota_total_bytes,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
