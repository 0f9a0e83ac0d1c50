with

source as (

    select * from {{ source('graph', 'usage_mailbox_usage_detail') }}

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
        created_date,
        last_activity_date,
        item_count,
        storage_used_byte,
        issue_warning_quota_byte,
        prohibit_send_quota_byte,
        prohibit_send_receive_quota_byte,
        deleted_item_count,
        deleted_item_size_byte,
        deleted_item_quota_byte,
        has_archive,
        report_period,

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
