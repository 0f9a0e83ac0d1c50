with

users as (

    select * from {{ ref('users') }}
    where is_account_enabled

),

last_sent as (

    select user_id, max(activity_date) as last_mail_sent_on
    from {{ ref('mailbox_activity_daily') }}
    where messages_sent > 0
    group by user_id

),

activity as (

    select
        users.user_id,
        users.user_principal_name,
        users.user_type,
        users.licence_count,
        users.last_sign_in_at,
        last_sent.last_mail_sent_on,
        greatest(
            coalesce(cast(users.last_sign_in_at as timestamp), cast('1900-01-01' as timestamp)),
            coalesce(cast(last_sent.last_mail_sent_on as timestamp), cast('1900-01-01' as timestamp))
        ) as last_activity_at
    from users
    left join last_sent on users.user_id = last_sent.user_id

),

-- Enabled accounts with neither a sign-in nor a sent message in the last `activity_days` days.
final as (

    select
        user_id,
        user_principal_name,
        user_type,
        licence_count,
        last_sign_in_at,
        last_mail_sent_on,
        case when last_activity_at > cast('1900-01-01' as timestamp) then last_activity_at end as last_activity_at,
        case
            when last_sign_in_at is null and last_mail_sent_on is null then 'never active'
            else 'inactive for more than {{ var("activity_days") }} days'
        end as reason
    from activity
    where last_activity_at < {{ activity_as_of() }} - interval '{{ var("activity_days") }} days'

)

select * from final
