-- Active users per workload per report refresh date, from Microsoft's usage reports (one snapshot per date).
-- Active = last activity in the `adoption_days` days up to the refresh date. Counts only: concealed (hashed)
-- rows count like the others and are never matched to users.
with

active_users as (

    select * from {{ ref('stg_graph__usage_office365_active_user_detail') }}
    where not coalesce(was_deleted, false)

),

workloads as (

    {% set workloads = [
        ('exchange', 'Exchange'), ('onedrive', 'OneDrive'), ('sharepoint', 'SharePoint'),
        ('teams', 'Teams'), ('yammer', 'Viva Engage'), ('skype_for_business', 'Skype for Business'),
    ] %}
    {% for key, label in workloads %}
    select
        report_refresh_date,
        '{{ label }}' as workload,
        coalesce(has_{{ key }}_license, false) as is_licensed,
        {{ key }}_last_activity_date > report_refresh_date - {{ var('adoption_days') }} as is_active
    from active_users
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

per_workload as (

    select
        report_refresh_date,
        workload,
        count(*) filter (where is_active) as active_users,
        count(*) filter (where is_licensed) as licensed_users,
        count(*) filter (where is_active and is_licensed) as active_licensed_users
    from workloads
    group by 1, 2

),

-- each workload's own report, as a cross-check: mailboxes, Teams users, OneDrive accounts, SharePoint sites
own_reports as (

    {% set own = [
        ('Exchange', 'stg_graph__usage_mailbox_usage_detail'),
        ('Teams', 'stg_graph__usage_teams_user_activity_user_detail'),
        ('OneDrive', 'stg_graph__usage_onedrive_usage_account_detail'),
        ('SharePoint', 'stg_graph__usage_sharepoint_site_usage_detail'),
    ] %}
    {% for label, model in own %}
    select
        report_refresh_date,
        '{{ label }}' as workload,
        count(*) filter (
            where last_activity_date > report_refresh_date - {{ var('adoption_days') }}
        ) as active_in_workload_report
    from {{ ref(model) }}
    where not coalesce(was_deleted, false)
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

enabled as (

    -- today's enabled accounts (the directory keeps no history): the denominator of every date
    select count(*) as enabled_users from {{ ref('stg_graph__users') }} where is_account_enabled

)

select
    per_workload.report_refresh_date,
    per_workload.workload,
    per_workload.active_users,
    per_workload.licensed_users,
    per_workload.active_licensed_users,
    enabled.enabled_users,
    round(100.0 * per_workload.active_licensed_users / nullif(per_workload.licensed_users, 0), 1)
        as active_pct_of_licensed,
    round(100.0 * per_workload.active_users / nullif(enabled.enabled_users, 0), 1) as active_pct_of_enabled,
    own_reports.active_in_workload_report
from per_workload
cross join enabled
left join own_reports
    on own_reports.report_refresh_date = per_workload.report_refresh_date
    and own_reports.workload = per_workload.workload
