-- depends_on: {{ ref('stg_graph__applications') }} {{ ref('stg_graph__service_principals') }} (credentials of staged apps)
with

applications as (

    select * from {{ source('graph', 'applications') }}
    where not coalesce(is_deleted, false)

),

service_principals as (

    select * from {{ source('graph', 'service_principals') }}
    where not coalesce(is_deleted, false)

),

-- one row per list entry (the credential lists are JSON columns of the raw tables)
entries as (

    select 'application' as owner_kind, id as owner_id, app_id, display_name as owner_display_name,
        'secret' as credential_kind, {{ json_entries('password_credentials') }} as credential
    from applications
    union all
    select 'application' as owner_kind, id as owner_id, app_id, display_name as owner_display_name,
        'certificate' as credential_kind, {{ json_entries('key_credentials') }} as credential
    from applications
    union all
    select 'service_principal' as owner_kind, id as owner_id, app_id, display_name as owner_display_name,
        'secret' as credential_kind, {{ json_entries('password_credentials') }} as credential
    from service_principals
    union all
    select 'service_principal' as owner_kind, id as owner_id, app_id, display_name as owner_display_name,
        'certificate' as credential_kind, {{ json_entries('key_credentials') }} as credential
    from service_principals

),

renamed as (

    select
        owner_kind || '/' || owner_id || '/' || credential_kind || '/' || {{ json_text('credential', 'keyId') }}
            as credential_key,
        owner_kind,
        owner_id,
        app_id,
        owner_display_name,
        credential_kind,
        {{ json_text('credential', 'keyId') }} as key_id,
        {{ json_text('credential', 'displayName') }} as display_name,
        cast({{ json_text('credential', 'startDateTime') }} as timestamp) as start_at,
        cast({{ json_text('credential', 'endDateTime') }} as timestamp) as end_at,
        {{ json_text('credential', 'type') }} as certificate_type,
        {{ json_text('credential', 'usage') }} as certificate_usage

    from entries

)

select * from renamed
