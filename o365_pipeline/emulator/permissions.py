"""Which permissions each Graph route accepts (the docs' permission tables), and the 403 for a token without one.

Application tokens carry `roles`, delegated ones `scp`. A route not listed here is not checked. A route whose
permissions the emulator's app registrations cannot be granted yet (`identity.APP_ROLES`) is not checked either,
so the seeded apps keep reading everything they read before (see `enforced`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .router import GraphError

_USERS = ("User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_GROUPS = (
    "Group.Read.All",
    "GroupMember.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_ORG = ("Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_MAIL_BASIC = ("Mail.ReadBasic.All", "Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite")
_MAIL = ("Mail.Read", "Mail.ReadWrite")
_CALENDARS = ("Calendars.ReadBasic.All", "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite")
_CONTACTS = ("Contacts.Read", "Contacts.ReadWrite")
_FILES = ("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All")
_TASKS = ("Tasks.Read.All", "Tasks.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All")
_TEAMS = ("Team.ReadBasic.All", "TeamSettings.Read.All", "Group.Read.All", "Directory.Read.All")
_CHANNELS = ("Channel.ReadBasic.All", "ChannelSettings.Read.All", "Group.Read.All", "Directory.Read.All")
_BOOKINGS = ("Bookings.Read.All", "BookingsAppointment.ReadWrite.All", "Bookings.ReadWrite.All", "Bookings.Manage.All")
_AUDIT = ("AuditLog.Read.All",)
# ---- sharepoint: Sites.Selected passes here; the routes answer 403 accessDenied for sites not granted
_SITES = ("Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All", "Sites.Selected")
# ---- entra governance (entra-access) ----
_ROLES = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
)
_CA_POLICIES = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")
# appliedConditionalAccessPolicies of sign-ins is filled only for an app that may read Conditional Access data
CA_DATA = ("Policy.Read.All", "Policy.Read.ConditionalAccess", "Policy.ReadWrite.ConditionalAccess")
# ---- entra apps ----
_APPS = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_DEVICES = ("Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_REPORTS = ("Reports.Read.All",)
_PLACES = ("Place.Read.All", "Place.ReadWrite.All")

ROUTE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("users", "users_delta", "users_count", "user"), _USERS),
    **dict.fromkeys(("groups", "groups_delta", "groups_count", "group", "group_members", "group_owners"), _GROUPS),
    **dict.fromkeys(("role_definitions", "role_assignments"), _ROLES),
    "conditional_access_policies": _CA_POLICIES,
    "user_registration_details": _AUDIT,
    **dict.fromkeys(("organization", "subscribed_skus"), _ORG),
    **dict.fromkeys(("directory_audits", "sign_ins"), _AUDIT),
    **dict.fromkeys(
        (
            "mail_folders_delta",
            "mail_folders",
            "mail_child_folders",
            "mail_folder",
            "messages_delta",
            "messages",
            "user_messages",
            "message",
        ),
        _MAIL_BASIC,
    ),
    "message_attachments": _MAIL,  # Mail.ReadBasic does not reach attachments
    **dict.fromkeys(("calendars", "calendar", "events_delta", "user_events"), _CALENDARS),
    "event_attachments": ("Calendars.Read", "Calendars.ReadWrite"),
    **dict.fromkeys(
        (
            "contact_folders_delta",
            "contact_folders",
            "contact_child_folders",
            "contacts_delta",
            "folder_contacts",
            "contacts",
        ),
        _CONTACTS,
    ),
    **dict.fromkeys(("user_drive", "drive", "drive_delta"), _FILES),
    # ---- sharepoint ----
    **dict.fromkeys(("drive", "drive_delta"), (*_FILES, "Sites.Selected")),  # library drives of granted sites
    **dict.fromkeys(("sites_all", "site", "site_lists", "site_list", "list_items", "list_items_delta"), _SITES),
    **dict.fromkeys(("site_drives", "group_drive"), (*_SITES, "Files.Read.All", "Files.ReadWrite.All")),
    **dict.fromkeys(("planner_group_plans", "planner_plan", "planner_tasks"), _TASKS),
    **dict.fromkeys(("teams", "team"), _TEAMS),
    "channels": _CHANNELS,
    "group_conversations": ("Group.Read.All", "Group.ReadWrite.All"),
    **dict.fromkeys(
        ("channel_messages", "channel_messages_delta", "channel_message_replies"),
        ("ChannelMessage.Read.All", "ChannelMessage.Read.Group"),  # protected: Microsoft approves the app first
    ),
    "team_members": ("TeamMember.Read.All", "TeamMember.ReadWrite.All", "TeamMember.Read.Group"),
    "channel_members": ("ChannelMember.Read.All", "ChannelMember.ReadWrite.All"),
    **dict.fromkeys(
        (
            "booking_businesses",
            "booking_business",
            "booking_appointments",
            "booking_customers",
            "booking_services",
            "booking_staffMembers",
            "booking_customQuestions",
            "booking_calendar_view",
        ),
        _BOOKINGS,
    ),
    # ---- entra apps ----
    **dict.fromkeys(
        ("applications", "applications_delta", "application", "service_principals", "service_principals_delta"),
        _APPS,
    ),
    "service_principal": _APPS,
    **dict.fromkeys(("devices", "devices_delta", "device"), _DEVICES),
    # ---- usage reports ----
    "reports": _REPORTS,
    # ---- places (rooms and room lists) ----
    **dict.fromkeys(("rooms", "room_lists", "room_list_rooms"), _PLACES),
}


def granted(claims: dict[str, Any]) -> set[str] | None:
    """The permissions a token carries (app `roles` or delegated `scp`); None when it has neither claim."""
    if "roles" in claims:
        return {str(r) for r in claims.get("roles") or []}
    if "scp" in claims:
        return set(str(claims["scp"]).split())
    return None


def enforced(route: str, grantable: Iterable[str]) -> tuple[str, ...]:
    """The permissions route accepts, or () when it is unchecked (unknown, or none can be granted here)."""
    need = ROUTE_PERMISSIONS.get(route, ())
    return need if set(need) & set(grantable) else ()


def check(route: str, family: str, claims: dict[str, Any], grantable: Iterable[str]) -> None:
    """Raise Graph's 401/403 when the token lacks every permission the route accepts."""
    have = granted(claims)
    if have is None:
        msg = "Either scp or roles claim need to be present in the token."
        raise GraphError(401, "InvalidAuthenticationToken", msg)
    need = enforced(route, grantable)
    if not need or have & set(need):
        return
    detail = f"API requires one of '{', '.join(need)}'. Roles on the request '{', '.join(sorted(have))}'."
    if family == "directory":
        msg = f"Insufficient privileges to complete the operation. {detail}"
        raise GraphError(403, "Authorization_RequestDenied", msg)
    if family == "outlook":
        raise GraphError(403, "ErrorAccessDenied", f"Access is denied. Check credentials and try again. {detail}")
    raise GraphError(403, "Forbidden", f"Missing role permissions on the request. {detail}")
