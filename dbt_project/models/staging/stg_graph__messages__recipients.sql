-- depends_on: {{ ref('stg_graph__messages') }} (recipients of staged messages only; keeps the lineage)
with

source as (

    select * from {{ source('graph', 'messages') }}
    where not coalesce(is_deleted, false)

),

recipients as (

    -- one row per list entry (the lists are JSON columns of the raw table), with its position
    select user_id, id, 'to' as recipient_type, {{ json_positions('to_recipients') }} as position,
        {{ json_entries('to_recipients') }} as recipient
    from source
    union all
    select user_id, id, 'cc' as recipient_type, {{ json_positions('cc_recipients') }} as position,
        {{ json_entries('cc_recipients') }} as recipient
    from source

),

renamed as (

    select
        user_id || '/' || id || '/' || recipient_type || '/' || position as recipient_key,
        user_id || '/' || id as message_key,
        user_id,
        id as message_id,
        recipient_type,
        lower({{ json_text(json_get('recipient', 'emailAddress'), 'address') }}) as recipient_address,
        {{ json_text(json_get('recipient', 'emailAddress'), 'name') }} as recipient_name

    from recipients

)

select * from renamed
