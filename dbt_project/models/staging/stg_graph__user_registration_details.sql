with

source as (

    select * from {{ source('graph', 'user_registration_details') }}

),

renamed as (

    select
        -- ids
        id as user_id,
        user_principal_name,

        -- properties
        user_display_name,
        user_type,
        cast(is_admin as boolean) as is_admin,
        cast(is_mfa_registered as boolean) as is_mfa_registered,
        cast(is_mfa_capable as boolean) as is_mfa_capable,
        cast(is_sspr_registered as boolean) as is_sspr_registered,
        cast(is_sspr_enabled as boolean) as is_sspr_enabled,
        cast(is_sspr_capable as boolean) as is_sspr_capable,
        cast(is_passwordless_capable as boolean) as is_passwordless_capable,
        user_preferred_method_for_secondary_authentication as preferred_secondary_method,
        methods_registered,
        last_updated_date_time as last_updated_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
