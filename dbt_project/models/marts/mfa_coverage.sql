with

users as (

    -- accounts that can sign in; a user without a department is counted under 'Unassigned'
    select user_id, coalesce(department, 'Unassigned') as department
    from {{ ref('stg_graph__users') }}
    where is_account_enabled

),

registration as (

    select user_id, is_mfa_registered, is_mfa_capable, is_passwordless_capable
    from {{ ref('stg_graph__user_registration_details') }}

),

-- which families of methods each user registered (a user counts once per family)
user_methods as (

    select
        user_id,
        bool_or(method in ('microsoftAuthenticatorPush', 'microsoftAuthenticatorPasswordless')) as has_authenticator_app,
        bool_or(method in ('softwareOneTimePasscode', 'hardwareOneTimePasscode')) as has_one_time_passcode,
        bool_or(method in ('mobilePhone', 'alternateMobilePhone', 'officePhone', 'sms', 'voice')) as has_phone,
        bool_or(method like 'fido2%' or method like 'passKey%') as has_security_key,
        bool_or(method = 'windowsHelloForBusiness') as has_windows_hello
    from {{ ref('stg_graph__user_registration_details__methods') }}
    group by user_id

),

per_user as (

    -- a user missing from the report (it lags behind new accounts) counts as not registered
    select
        users.department,
        coalesce(registration.is_mfa_registered, false) as is_mfa_registered,
        coalesce(registration.is_mfa_capable, false) as is_mfa_capable,
        coalesce(registration.is_passwordless_capable, false) as is_passwordless_capable,
        coalesce(user_methods.has_authenticator_app, false) as has_authenticator_app,
        coalesce(user_methods.has_one_time_passcode, false) as has_one_time_passcode,
        coalesce(user_methods.has_phone, false) as has_phone,
        coalesce(user_methods.has_security_key, false) as has_security_key,
        coalesce(user_methods.has_windows_hello, false) as has_windows_hello
    from users
    left join registration on users.user_id = registration.user_id
    left join user_methods on users.user_id = user_methods.user_id

),

final as (

    select
        department,
        count(*) as users,
        count(*) filter (where is_mfa_registered) as mfa_registered_users,
        count(*) filter (where not is_mfa_registered) as unregistered_users,
        {{ round_float('100.0 * count(*) filter (where is_mfa_registered) / count(*)', 1) }} as mfa_registered_pct,
        count(*) filter (where is_mfa_capable) as mfa_capable_users,
        count(*) filter (where is_passwordless_capable) as passwordless_capable_users,
        count(*) filter (where has_authenticator_app) as authenticator_app_users,
        count(*) filter (where has_one_time_passcode) as one_time_passcode_users,
        count(*) filter (where has_phone) as phone_users,
        count(*) filter (where has_security_key) as security_key_users,
        count(*) filter (where has_windows_hello) as windows_hello_users
    from per_user
    group by department

)

select * from final
