with

source as (

    select * from {{ source('graph', 'devices') }}

),

renamed as (

    select
        -- ids
        id as device_id,
        device_id as registered_device_id,

        -- description
        display_name,
        operating_system,
        operating_system_version,
        manufacturer,
        model,
        trust_type,
        device_ownership,

        -- status
        cast(account_enabled as boolean) as is_account_enabled,
        cast(is_managed as boolean) as is_managed,
        cast(is_compliant as boolean) as is_compliant,
        registration_date_time as registered_at,
        approximate_last_sign_in_date_time as last_sign_in_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
