with

source as (

    select * from {{ source('graph', 'usage_teams_user_activity_user_detail') }}

),

renamed as (

    select
        -- ids
        id as usage_row_id,
        report_refresh_date,

        -- report columns
        tenant_display_name,
        shared_channel_tenant_display_names,
        report_user_id,
        user_principal_name,
        last_activity_date,
        was_deleted,
        deleted_date,
        assigned_products,
        team_chat_message_count,
        private_chat_message_count,
        call_count,
        meeting_count,
        post_messages,
        reply_messages,
        urgent_messages,
        meetings_organized_count,
        meetings_attended_count,
        ad_hoc_meetings_organized_count,
        ad_hoc_meetings_attended_count,
        scheduled_one_time_meetings_organized_count,
        scheduled_one_time_meetings_attended_count,
        scheduled_recurring_meetings_organized_count,
        scheduled_recurring_meetings_attended_count,
        audio_duration,
        video_duration,
        screen_share_duration,
        audio_duration_in_seconds,
        video_duration_in_seconds,
        screen_share_duration_in_seconds,
        has_other_action,
        is_licensed,
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
