with

source as (

    select * from {{ source('graph', 'sites') }}

),

renamed as (

    select
        -- ids
        id as site_id,

        -- properties
        name as site_name,
        display_name,
        description,
        web_url,
        root is not null as is_root_site,
        coalesce(is_personal_site, false) as is_personal_site,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
