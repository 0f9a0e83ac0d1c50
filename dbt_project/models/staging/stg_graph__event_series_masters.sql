with

source as (

    select * from {{ source('graph', 'event_series_masters') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id; occurrences carry it as series_master_id)
        user_id || '/' || id as series_key,
        id as series_master_id,
        user_id,

        -- properties
        subject,
        i_cal_u_id as ical_uid,
        start__date_time as first_starts_at,
        end__date_time as first_ends_at,
        is_all_day,
        is_cancelled,
        is_online_meeting,
        show_as,
        {{ json_text('organizer__email_address', 'address') }} as organizer_address,
        location__display_name as location_name,
        lower(location__location_email_address) as location_address,
        {{ json_text('recurrence__pattern', 'type') }} as pattern_type,
        cast({{ json_text('recurrence__pattern', 'interval') }} as integer) as pattern_interval,
        {{ json_text('recurrence__range', 'type') }} as range_type,
        cast({{ json_text('recurrence__range', 'startDate') }} as date) as range_start_date,
        -- Graph writes 0001-01-01 for a series without an end date
        cast(nullif({{ json_text('recurrence__range', 'endDate') }}, '0001-01-01') as date) as range_end_date,
        cast(nullif({{ json_text('recurrence__range', 'numberOfOccurrences') }}, '0') as integer)
            as number_of_occurrences,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
