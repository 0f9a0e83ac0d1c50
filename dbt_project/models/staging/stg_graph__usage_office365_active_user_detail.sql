with

source as (

    select * from {{ source('graph', 'usage_office365_active_user_detail') }}

),

renamed as (

    select
        -- ids
        id as usage_row_id,
        report_refresh_date,

        -- report columns
        user_principal_name,
        display_name,
        was_deleted,
        deleted_date,
        has_exchange_license,
        has_onedrive_license,
        has_sharepoint_license,
        has_skype_for_business_license,
        has_yammer_license,
        has_teams_license,
        exchange_last_activity_date,
        onedrive_last_activity_date,
        sharepoint_last_activity_date,
        skype_for_business_last_activity_date,
        yammer_last_activity_date,
        teams_last_activity_date,
        exchange_license_assign_date,
        onedrive_license_assign_date,
        sharepoint_license_assign_date,
        skype_for_business_license_assign_date,
        yammer_license_assign_date,
        teams_license_assign_date,
        assigned_products,

        -- concealed names (Microsoft 365 admin center: Reports, display concealed names)
        user_principal_name not like '%@%' as is_concealed,
        -- the sign-in name to match users on: never a concealed hash
        case
            when user_principal_name not like '%@%' then null
            when user_principal_name like '%@%' then lower(user_principal_name)
        end as joinable_upn

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
