with

assignments as (

    select * from {{ ref('stg_graph__directory_role_members') }}

),

roles as (

    select role_id, role_name, is_built_in from {{ ref('stg_graph__directory_roles') }}

),

users as (

    select user_id, user_principal_name, display_name, user_type, is_account_enabled
    from {{ ref('stg_graph__users') }}

),

-- the account was last used: its latest successful sign-in (a failed attempt on a dormant admin is not use)
sign_ins as (

    select user_id, max(created_at) as last_sign_in_at
    from {{ ref('stg_graph__sign_ins') }}
    where is_success
    group by user_id

),

registration as (

    select user_id, is_mfa_registered from {{ ref('stg_graph__user_registration_details') }}

),

-- One row per role a user holds (roles held by groups or applications are not users' and are left out).
final as (

    select
        assignments.role_assignment_id,
        users.user_id,
        users.user_principal_name,
        users.display_name,
        users.user_type,
        users.is_account_enabled,
        assignments.role_id,
        roles.role_name,
        roles.is_built_in as is_built_in_role,
        assignments.directory_scope_id,
        assignments.is_tenant_wide,
        coalesce(registration.is_mfa_registered, false) as is_mfa_registered,
        sign_ins.last_sign_in_at,
        {{ dbt.datediff('sign_ins.last_sign_in_at', activity_as_of(), 'day') }} as days_since_last_sign_in
    from assignments
    inner join users on assignments.principal_id = users.user_id
    left join roles on assignments.role_id = roles.role_id
    left join sign_ins on users.user_id = sign_ins.user_id
    left join registration on users.user_id = registration.user_id

)

select * from final
