with

to_recipients as (

    select * from {{ graph_child_table('messages', 'to_recipients') }}

),

cc_recipients as (

    select * from {{ graph_child_table('messages', 'cc_recipients') }}

),

messages as (

    select message_key, user_id, message_id, dlt_id from {{ ref('stg_graph__messages') }}

),

recipients as (

    select _dlt_id, _dlt_parent_id, email_address, 'to' as recipient_type from to_recipients
    union all
    select _dlt_id, _dlt_parent_id, email_address, 'cc' as recipient_type from cc_recipients

),

renamed as (

    select
        recipients._dlt_id as recipient_key,
        messages.message_key,
        messages.user_id,
        messages.message_id,
        recipients.recipient_type,
        lower({{ json_text('recipients.email_address', 'address') }}) as recipient_address,
        {{ json_text('recipients.email_address', 'name') }} as recipient_name

    from recipients
    inner join messages on recipients._dlt_parent_id = messages.dlt_id

)

select * from renamed
