"""Microsoft 365 usage reports: the CSV columns Graph documents, the report period setting, CSV to rows.

Graph answers a report function (``reports/getMailboxUsageDetail(period='D7')``) with ``302 Found`` and a
short-lived pre-authenticated download URL on another host (:meth:`GraphClient.download`, no token sent
there). The CSV has a byte order mark and a header row of words (``Report Refresh Date``); every row of one
download carries the same refresh date. A table keeps one snapshot per refresh date: ids are
``<refresh date>/<row key>``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Mapping
from typing import Any

from ..config import SettingError

PERIODS = ("D7", "D30")
REFRESH_DATE = "report_refresh_date"

# The columns of each report as Graph's documentation lists them (reportroot-get<report>.md, v1.0)
HEADERS: dict[str, tuple[str, ...]] = {
    "office365_active_user_detail": (
        "Report Refresh Date",
        "User Principal Name",
        "Display Name",
        "Is Deleted",
        "Deleted Date",
        "Has Exchange License",
        "Has OneDrive License",
        "Has SharePoint License",
        "Has Skype For Business License",
        "Has Yammer License",
        "Has Teams License",
        "Exchange Last Activity Date",
        "OneDrive Last Activity Date",
        "SharePoint Last Activity Date",
        "Skype For Business Last Activity Date",
        "Yammer Last Activity Date",
        "Teams Last Activity Date",
        "Exchange License Assign Date",
        "OneDrive License Assign Date",
        "SharePoint License Assign Date",
        "Skype For Business License Assign Date",
        "Yammer License Assign Date",
        "Teams License Assign Date",
        "Assigned Products",
    ),
    "mailbox_usage_detail": (
        "Report Refresh Date",
        "User Principal Name",
        "Display Name",
        "Is Deleted",
        "Deleted Date",
        "Created Date",
        "Last Activity Date",
        "Item Count",
        "Storage Used (Byte)",
        "Issue Warning Quota (Byte)",
        "Prohibit Send Quota (Byte)",
        "Prohibit Send/Receive Quota (Byte)",
        "Deleted Item Count",
        "Deleted Item Size (Byte)",
        "Deleted Item Quota (Byte)",
        "Has Archive",
        "Report Period",
    ),
    "teams_user_activity_user_detail": (
        "Report Refresh Date",
        "Tenant Display Name",
        "Shared Channel Tenant Display Names",
        "User Id",
        "User Principal Name",
        "Last Activity Date",
        "Is Deleted",
        "Deleted Date",
        "Assigned Products",
        "Team Chat Message Count",
        "Private Chat Message Count",
        "Call Count",
        "Meeting Count",
        "Post Messages",
        "Reply Messages",
        "Urgent Messages",
        "Meetings Organized Count",
        "Meetings Attended Count",
        "Ad Hoc Meetings Organized Count",
        "Ad Hoc Meetings Attended Count",
        "Scheduled One-time Meetings Organized Count",
        "Scheduled One-time Meetings Attended Count",
        "Scheduled Recurring Meetings Organized Count",
        "Scheduled Recurring Meetings Attended Count",
        "Audio Duration",
        "Video Duration",
        "Screen Share Duration",
        "Audio Duration In Seconds",
        "Video Duration In Seconds",
        "Screen Share Duration In Seconds",
        "Has Other Action",
        "Is Licensed",
        "Report Period",
    ),
    "onedrive_usage_account_detail": (
        "Report Refresh Date",
        "Site URL",
        "Owner Display Name",
        "Is Deleted",
        "Last Activity Date",
        "File Count",
        "Active File Count",
        "Storage Used (Byte)",
        "Storage Allocated (Byte)",
        "Owner Principal Name",
        "Report Period",
    ),
    "sharepoint_site_usage_detail": (
        "Report Refresh Date",
        "Site Id",
        "Site URL",
        "Owner Display Name",
        "Is Deleted",
        "Last Activity Date",
        "File Count",
        "Active File Count",
        "Page View Count",
        "Visited Page Count",
        "Storage Used (Byte)",
        "Storage Allocated (Byte)",
        "Root Web Template",
        "Owner Principal Name",
        "Report Period",
    ),
}


def report_period(environ: Mapping[str, str] | None = None) -> str:
    """``O365_REPORT_PERIOD`` (default ``D7``): the days a usage report aggregates (``D7`` or ``D30``).

    Raises:
        SettingError: naming ``O365_REPORT_PERIOD`` for any other value.
    """
    raw = (os.environ if environ is None else environ).get("O365_REPORT_PERIOD", "").strip()
    period = raw.upper() or "D7"
    if period not in PERIODS:
        raise SettingError("O365_REPORT_PERIOD", f"{raw!r} is not a report period: use D7 or D30")
    return period


# Headers whose plain name is taken by a column the sync adds: ``is_deleted`` is the hard-delete flag of every
# raw table, ``user_id`` the mailbox owner of per-user tables.
RENAMED = {"Is Deleted": "was_deleted", "User Id": "report_user_id"}


def with_period(path: str, period: str) -> str:
    """A report function's path asking for ``period``: ``...(period='D7')`` -> ``...(period='D30')``."""
    return re.sub(r"\(period='D\d+'\)", f"(period='{period}')", path)


def column_name(header: str) -> str:
    """A CSV header as a column name: ``Storage Used (Byte)`` -> ``storage_used_byte``."""
    return RENAMED.get(header) or re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def column_type(header: str) -> str:
    """The type of a report column, from how Graph names it (dates, flags, counts, bytes, seconds)."""
    if header.endswith("Date"):
        return "date"
    if header.startswith(("Is ", "Has ")):
        return "bool"
    if re.search(r"(Count|\(Byte\)|In Seconds|Messages|Report Period)$", header):
        return "bigint"
    return "text"


def report_columns(report: str) -> dict[str, Any]:
    """A report's declared columns (name -> type), in the CSV's order."""
    return {column_name(header): column_type(header) for header in HEADERS[report]}


def _value(text: str, kind: str) -> Any:
    """A CSV cell as its column's type; an empty cell is null."""
    text = text.strip()
    if not text:
        return None
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "bool":
        return text.lower() == "true"
    if kind == "bigint":
        return int(text)
    return text


def csv_rows(data: bytes, types: Mapping[str, str], key: str) -> list[dict[str, Any]]:
    """The rows of a report CSV (BOM and header row), typed by ``types`` (other columns as text), each with
    ``id`` = ``<refresh date>/<key column>``.

    Raises:
        ValueError: the header row names no refresh date or no key (an empty body, a proxy's HTML page: not a
            report, even one without rows), a row has no refresh date or no key, or a cell does not fit its
            column's type.
    """
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, None) or []
    names = [column_name(h) for h in header]
    missing = [name for name in (REFRESH_DATE, key) if name not in names]
    if missing:
        raise ValueError(f"its header row has no {' or '.join(missing)} column")
    rows: list[dict[str, Any]] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: _value(cell, types.get(name, "text")) for name, cell in zip(names, cells, strict=False)}
        if row.get(REFRESH_DATE) is None or not row.get(key):
            raise ValueError(f"CSV line {number} has no {REFRESH_DATE} or no {key}")
        row["id"] = f"{row[REFRESH_DATE].isoformat()}/{row[key]}"
        rows.append(row)
    return rows


# What each report column means (the raw tables' descriptions: Entity.descriptions of the report rows)
DESCRIPTIONS: dict[str, str] = {
    "report_refresh_date": "The day Microsoft computed the report for (UTC); each refresh date is one snapshot.",
    "user_principal_name": "Sign-in name of the user; a hash when the tenant conceals user names.",
    "display_name": "Name of the user; a hash when the tenant conceals user names.",
    "was_deleted": "Whether the user (or site) was deleted when the report was computed.",
    "deleted_date": "When the user (or site) was deleted; empty while it exists.",
    "assigned_products": "Licensed products of the user, joined by '+' (e.g. MICROSOFT 365 E5).",
    "report_period": "Days the report's counts cover (7 for D7, 30 for D30: O365_REPORT_PERIOD).",
    "last_activity_date": "Last day with any activity in this workload; empty when never active.",
    **{
        f"has_{w}_license": f"Whether the user holds a licence for {label}."
        for w, label in (
            ("exchange", "Exchange (mail)"),
            ("onedrive", "OneDrive"),
            ("sharepoint", "SharePoint"),
            ("skype_for_business", "Skype for Business"),
            ("yammer", "Viva Engage (Yammer)"),
            ("teams", "Teams"),
        )
    },
    **{
        f"{w}_last_activity_date": f"Last day the user was active in {label}; empty when never."
        for w, label in (
            ("exchange", "Exchange (mail)"),
            ("onedrive", "OneDrive"),
            ("sharepoint", "SharePoint"),
            ("skype_for_business", "Skype for Business"),
            ("yammer", "Viva Engage (Yammer)"),
            ("teams", "Teams"),
        )
    },
    **{
        f"{w}_license_assign_date": f"When the {label} licence was assigned; empty without one."
        for w, label in (
            ("exchange", "Exchange"),
            ("onedrive", "OneDrive"),
            ("sharepoint", "SharePoint"),
            ("skype_for_business", "Skype for Business"),
            ("yammer", "Viva Engage (Yammer)"),
            ("teams", "Teams"),
        )
    },
    "created_date": "When the mailbox was created.",
    "item_count": "Items in the mailbox (all folders).",
    "storage_used_byte": "Bytes stored: mailbox size, or files of the drive or site.",
    "issue_warning_quota_byte": "Mailbox size at which the user is warned.",
    "prohibit_send_quota_byte": "Mailbox size at which sending stops.",
    "prohibit_send_receive_quota_byte": "Mailbox size at which sending and receiving stop.",
    "deleted_item_count": "Items in Recoverable Items (deleted, not purged).",
    "deleted_item_size_byte": "Bytes of the deleted items.",
    "deleted_item_quota_byte": "Quota of Recoverable Items.",
    "has_archive": "Whether the mailbox has an archive mailbox.",
    "tenant_display_name": "Name of the tenant the activity belongs to.",
    "shared_channel_tenant_display_names": "Other tenants whose shared channels the user took part in.",
    "report_user_id": "The user's Entra id as the report gives it; a hash when names are concealed.",
    "team_chat_message_count": "Messages posted in team channels in the period.",
    "private_chat_message_count": "Messages posted in one-to-one and group chats in the period.",
    "call_count": "One-to-one calls the user took part in during the period.",
    "meeting_count": "Online meetings the user took part in during the period.",
    "post_messages": "Channel posts (new threads) in the period.",
    "reply_messages": "Replies to channel posts in the period.",
    "urgent_messages": "Messages marked urgent in the period.",
    "meetings_organized_count": "Meetings the user organized in the period.",
    "meetings_attended_count": "Meetings the user attended in the period.",
    "ad_hoc_meetings_organized_count": "Unscheduled (Meet now) meetings organized.",
    "ad_hoc_meetings_attended_count": "Unscheduled (Meet now) meetings attended.",
    "scheduled_one_time_meetings_organized_count": "Meetings planned in advance for a single date the user set up.",
    "scheduled_one_time_meetings_attended_count": "Meetings planned in advance for a single date the user joined.",
    "scheduled_recurring_meetings_organized_count": "Recurring meetings organized (each occurrence counted).",
    "scheduled_recurring_meetings_attended_count": "Recurring meetings attended (each occurrence counted).",
    "audio_duration": "Time in audio calls and meetings (ISO 8601 duration).",
    "video_duration": "Time with video on (ISO 8601 duration).",
    "screen_share_duration": "Time sharing the screen (ISO 8601 duration).",
    "audio_duration_in_seconds": "Time in audio calls and meetings, in seconds.",
    "video_duration_in_seconds": "Time with video on, in seconds.",
    "screen_share_duration_in_seconds": "Time sharing the screen, in seconds.",
    "has_other_action": "Whether the user was active in Teams other than by messages, calls and meetings.",
    "is_licensed": "Whether the user holds a Teams licence.",
    "site_url": "Address of the OneDrive or SharePoint site; a hash when the tenant conceals site names.",
    "site_id": "The site collection's GUID (never concealed): the middle part of sites.id (host,collection,web).",
    "owner_display_name": "Name of the site's owner; a hash when names are concealed.",
    "owner_principal_name": "Sign-in name of the site's owner; a hash when names are concealed.",
    "file_count": "Files stored in the site or drive.",
    "active_file_count": "Files viewed or edited in the period.",
    "page_view_count": "Page views of the site in the period.",
    "visited_page_count": "Distinct pages visited in the period.",
    "storage_allocated_byte": "Storage quota of the site or drive, in bytes.",
    "root_web_template": "Template the site was created from (Team Site, Group, Communication Site...).",
}


def report_descriptions(report: str) -> dict[str, str]:
    """The descriptions of a report's columns, its id included (the catalogue row's ``descriptions``)."""
    key = {"sharepoint_site_usage_detail": "site id", "onedrive_usage_account_detail": "site URL"}
    row = key.get(report, "user principal name")
    described = {"id": f"<report refresh date>/<{row}>: one row per refresh date and {row}; the merge key."}
    return described | {column: DESCRIPTIONS[column] for column in report_columns(report)}
