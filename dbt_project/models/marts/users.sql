with

users as (

    select * from {{ ref('stg_graph__users') }}

),

skus as (

    select sku_id, sku_part_number from {{ ref('stg_graph__subscribed_skus') }}

),

licences as (

    select
        assigned.user_id,
        count(*) as licence_count,
        string_agg(coalesce(skus.sku_part_number, assigned.sku_id), ', ' order by coalesce(skus.sku_part_number, assigned.sku_id)) as licences
    from {{ ref('stg_graph__users__assigned_licenses') }} as assigned
    left join skus on assigned.sku_id = skus.sku_id
    group by assigned.user_id

),

mailboxes as (

    select distinct user_id from {{ ref('stg_graph__mail_folders') }}

),

memberships as (

    select
        user_id,
        count(*) as group_count,
        count(*) filter (where is_direct) as direct_group_count
    from {{ ref('group_memberships') }}
    group by user_id

),

sign_ins as (

    select user_id, max(created_at) as last_sign_in_at
    from {{ ref('stg_graph__sign_ins') }}
    group by user_id

),

final as (

    select
        users.user_id,
        users.user_principal_name,
        users.display_name,
        users.department,
        users.job_title,
        users.user_type,
        users.user_type = 'Guest' as is_guest,
        users.is_account_enabled,
        users.mail is not null as has_mail_address,
        mailboxes.user_id is not null as has_mailbox,
        lower(split_part(users.user_principal_name, '@', 2)) as upn_domain,
        coalesce(licences.licence_count, 0) as licence_count,
        licences.licences,
        coalesce(memberships.group_count, 0) as group_count,
        coalesce(memberships.direct_group_count, 0) as direct_group_count,
        sign_ins.last_sign_in_at,
        users.created_at
    from users
    left join licences on users.user_id = licences.user_id
    left join mailboxes on users.user_id = mailboxes.user_id
    left join memberships on users.user_id = memberships.user_id
    left join sign_ins on users.user_id = sign_ins.user_id

)

select * from final
