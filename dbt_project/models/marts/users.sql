with

users as (

    select * from {{ ref('stg_graph__users') }}

),

final as (

    select
        user_id,
        user_principal_name,
        display_name,
        department,
        job_title,
        user_type,
        user_type = 'Guest' as is_guest,
        is_account_enabled,
        mail is not null as has_mail_address,
        lower(split_part(user_principal_name, '@', 2)) as upn_domain,
        created_at
    from users

)

select * from final
