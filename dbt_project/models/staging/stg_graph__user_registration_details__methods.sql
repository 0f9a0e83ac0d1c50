-- depends_on: {{ ref('stg_graph__user_registration_details') }} (methods of staged rows only; keeps the lineage)
with

source as (

    select * from {{ source('graph', 'user_registration_details') }}
    where not coalesce(is_deleted, false)

),

methods as (

    -- one row per entry of the JSON list
    select id, {{ json_entries('methods_registered') }} as method
    from source

),

renamed as (

    select
        id || '/' || {{ json_string('method') }} as user_method_key,
        id as user_id,
        {{ json_string('method') }} as method,
        {{ json_string('method') }} not in ('email', 'securityQuestion') as is_mfa_method

    from methods

)

select * from renamed
