with

source as (

    select * from {{ source('graph', 'directory_role_members') }}

),

renamed as (

    select
        -- ids
        id as role_assignment_id,
        role_definition_id as role_id,
        principal_id,

        -- properties
        directory_scope_id,
        directory_scope_id = '/' as is_tenant_wide,
        app_scope_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
