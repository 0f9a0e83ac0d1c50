with

source as (

    select * from {{ source('graph', 'service_principals') }}

),

renamed as (

    select
        -- ids
        id as service_principal_id,
        app_id,
        app_owner_organization_id,

        -- description
        display_name,
        service_principal_type,

        -- status
        cast(account_enabled as boolean) as is_account_enabled

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
