with

credentials as (

    select * from {{ ref('stg_graph__app_credentials') }}

),

measured as (

    select
        *,
        -- whole days from `as_of` to the expiry, rounded down: 0 = expires within the next 24 hours, negative = expired
        cast(floor(extract(epoch from (end_at - {{ activity_as_of() }})) / 86400) as integer) as days_left
    from credentials

),

-- Secrets and certificates of app registrations and service principals that have expired, or expire within
-- `expiry_days` days of `as_of`: the ones to rotate before sign-ins fail.
final as (

    select
        credential_key,
        owner_kind,
        owner_id,
        app_id,
        owner_display_name,
        credential_kind,
        key_id,
        display_name,
        end_at,
        days_left,
        end_at <= {{ activity_as_of() }} as is_expired
    from measured
    where end_at < {{ activity_as_of() }} + interval '{{ var("expiry_days") }} days'

)

select * from final
