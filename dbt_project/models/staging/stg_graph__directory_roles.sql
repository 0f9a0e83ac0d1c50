with

source as (

    select * from {{ source('graph', 'directory_roles') }}

),

renamed as (

    select
        -- ids
        id as role_id,
        template_id,

        -- properties
        display_name as role_name,
        description,
        cast(is_built_in as boolean) as is_built_in,
        cast(is_enabled as boolean) as is_enabled,
        role_permissions

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
