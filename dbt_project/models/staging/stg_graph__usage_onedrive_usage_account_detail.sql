with

source as (

    select * from {{ source('graph', 'usage_onedrive_usage_account_detail') }}

),

renamed as (

    select
        -- ids
        id as usage_row_id,
        report_refresh_date,

        -- report columns
        site_url,
        owner_display_name,
        was_deleted,
        last_activity_date,
        file_count,
        active_file_count,
        storage_used_byte,
        storage_allocated_byte,
        owner_principal_name,
        report_period,

        -- concealed names (Microsoft 365 admin center: Reports, display concealed names)
        coalesce(owner_principal_name, '') not like '%@%' and site_url not like 'https://%' as is_concealed,
        -- the sign-in name to match users on: never a concealed hash
        case
            when coalesce(owner_principal_name, '') not like '%@%' and site_url not like 'https://%' then null
            when owner_principal_name like '%@%' then lower(owner_principal_name)
        end as joinable_upn

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
