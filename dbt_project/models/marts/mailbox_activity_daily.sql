with

users as (

    select user_id, lower(mail) as mail from {{ ref('stg_graph__users') }}

),

domains as (

    select domain_name from {{ ref('stg_graph__organization__verified_domains') }}

),

messages as (

    select * from {{ ref('stg_graph__messages') }}
    where not is_draft

),

recipients as (

    select * from {{ ref('stg_graph__messages__recipients') }}

),

attachments as (

    select
        user_id,
        message_id,
        count(*) as attachment_count,
        sum(size_bytes) as attachment_bytes
    from {{ ref('stg_graph__message_attachments') }}
    where not is_inline
    group by user_id, message_id

),

-- A message is external when anyone on it other than the mailbox owner is outside the tenant's domains.
external_messages as (

    select distinct recipients.message_key
    from recipients
    where {{ email_domain('recipients.recipient_address') }} not in (select domain_name from domains)

),

classified as (

    select
        messages.message_key,
        messages.user_id,
        lower(messages.from_address) = users.mail as is_sent,
        cast(case when lower(messages.from_address) = users.mail then messages.sent_at else messages.received_at end as date)
            as activity_date,
        case
            when lower(messages.from_address) = users.mail then external_messages.message_key is not null
            else {{ email_domain('messages.from_address') }} not in (select domain_name from domains)
        end as is_external,
        coalesce(attachments.attachment_count, 0) as attachment_count,
        attachments.attachment_bytes
    from messages
    inner join users on messages.user_id = users.user_id
    left join external_messages on messages.message_key = external_messages.message_key
    left join attachments on messages.user_id = attachments.user_id and messages.message_id = attachments.message_id

),

final as (

    select
        user_id || '/' || cast(activity_date as varchar) as activity_key,
        user_id,
        activity_date,
        count(*) filter (where is_sent) as messages_sent,
        count(*) filter (where not is_sent) as messages_received,
        count(*) filter (where is_sent and not is_external) as sent_internal,
        count(*) filter (where is_sent and is_external) as sent_external,
        count(*) filter (where not is_sent and not is_external) as received_internal,
        count(*) filter (where not is_sent and is_external) as received_external,
        count(*) filter (where attachment_count > 0) as messages_with_attachments,
        sum(attachment_count) as attachment_count,
        coalesce(sum(attachment_bytes), 0) as attachment_bytes,
        avg(cast(attachment_bytes as float8) / attachment_count) as avg_attachment_bytes
    from classified
    where activity_date is not null
    group by user_id, activity_date

)

select * from final
