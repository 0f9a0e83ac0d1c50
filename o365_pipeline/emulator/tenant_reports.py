"""Microsoft 365 usage reports of the emulated tenant: one CSV snapshot per report and report refresh date.

Graph's usage reports are computed by Microsoft once a day: a report answers the rows of its latest refresh
date, the same rows all day. Here a report's snapshot is frozen the first time it is asked for (its users
and sites as they were then) and stays until ``advance`` moves the refresh date one day on; the truth of a
report's table is every snapshot a client downloaded plus the current one (what a replica keeping one
snapshot per refresh date holds). Tenants that conceal user, group and site names
(``concealed``: Microsoft 365 admin center, Org settings, Reports) send hashed identifiers instead.

Columns are the ones Graph's documentation lists for each report (``reportroot-get*.md``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .workload_directory import Directory, UserRef
from .workload_kit import TENANT_EPOCH, rng_for, upn_slug

# Microsoft's reports lag the day by about two days
FIRST_REFRESH_DATE = TENANT_EPOCH.date() - dt.timedelta(days=2)
PRODUCTS = "MICROSOFT 365 E5"

ACTIVE_USER_COLUMNS = (
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
)
MAILBOX_COLUMNS = (
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
)
TEAMS_COLUMNS = (
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
)
ONEDRIVE_COLUMNS = (
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
)
SHAREPOINT_COLUMNS = (
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
)

Row = dict[str, str]
UPN = "User Principal Name"


@dataclass(frozen=True)
class SiteRef:
    """A SharePoint site as the site usage report sees it: its collection id (the GUID in the middle of Graph's
    ``host,collection id,web id`` site id), address, name and whether it is a group's team site."""

    collection_id: str
    url: str
    display_name: str
    group: bool


@dataclass(frozen=True)
class Report:
    """One usage report: its Graph function, raw table, CSV columns and the column naming a row."""

    function: str
    table: str
    columns: tuple[str, ...]
    key: str  # the column whose value (with the refresh date) identifies a row: the truth id


REPORTS: dict[str, Report] = {
    r.function: r
    for r in (
        Report(
            "getOffice365ActiveUserDetail",
            "usage_office365_active_user_detail",
            ACTIVE_USER_COLUMNS,
            "User Principal Name",
        ),
        Report("getMailboxUsageDetail", "usage_mailbox_usage_detail", MAILBOX_COLUMNS, "User Principal Name"),
        Report(
            "getTeamsUserActivityUserDetail",
            "usage_teams_user_activity_user_detail",
            TEAMS_COLUMNS,
            "User Principal Name",
        ),
        Report("getOneDriveUsageAccountDetail", "usage_onedrive_usage_account_detail", ONEDRIVE_COLUMNS, "Site URL"),
        Report("getSharePointSiteUsageDetail", "usage_sharepoint_site_usage_detail", SHAREPOINT_COLUMNS, "Site Id"),
    )
}
PERIODS = ("D7", "D30", "D90", "D180")


def conceal(value: str) -> str:
    """A concealed name as the reports show it: an upper-case hex hash, the same for the same name."""
    return hashlib.md5(value.lower().encode(), usedforsecurity=False).hexdigest().upper()


def _bool(flag: bool) -> str:
    return "True" if flag else "False"


def _day(date: dt.date | None) -> str:
    return date.isoformat() if date else ""


class UsageReports:
    """The five usage reports of one tenant: the current refresh date of each, frozen snapshots, downloads."""

    def __init__(self, directory: Directory, tenant_name: str, sites: Callable[[], list[SiteRef]]) -> None:
        self.directory = directory
        self.sites = sites
        self.seed = directory.seed
        self.tenant_name = tenant_name
        self.concealed = False
        self._dates: dict[str, dt.date] = dict.fromkeys(REPORTS, FIRST_REFRESH_DATE)
        self._snapshots: dict[tuple[str, dt.date], list[Row]] = {}
        self._served: set[tuple[str, dt.date]] = set()
        self._lock = threading.Lock()

    def refresh_date(self, function: str) -> dt.date:
        """The report's current refresh date."""
        return self._dates[function]

    def set_concealed(self, concealed: bool) -> None:
        """Conceal names (or not) from now on: snapshots no client downloaded yet are computed again."""
        with self._lock:
            self.concealed = concealed
            self._snapshots = {key: rows for key, rows in self._snapshots.items() if key in self._served}

    def advance(self, function: str, days: int = 1) -> dt.date:
        """Move a report's refresh date ``days`` on (Microsoft computed it again); returns the new date."""
        with self._lock:
            self._dates[function] += dt.timedelta(days=days)
            return self._dates[function]

    def recompute(self, function: str) -> dt.date:
        """Compute the report's current refresh date again (Microsoft reprocessed the day): its next download
        holds the users and sites of now, under the same date. Returns the date."""
        with self._lock:
            date = self._dates[function]
            self._snapshots.pop((function, date), None)
            return date

    def snapshot(self, function: str, date: dt.date) -> list[Row]:
        """The report's rows for ``date`` (computed and frozen on first use)."""
        with self._lock:
            key = (function, date)
            if key not in self._snapshots:
                self._snapshots[key] = list(_ROWS[function](self, date))
            return self._snapshots[key]

    def csv(self, function: str, date: dt.date, period: str = "D7") -> bytes:
        """The report's CSV as Graph's download serves it (UTF-8 with a BOM, a header row), marked as served."""
        days = period.lstrip("D")
        rows = [
            {**row, "Report Period": days} if "Report Period" in row else row for row in self.snapshot(function, date)
        ]
        with self._lock:
            self._served.add((function, date))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=REPORTS[function].columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def ids(self, function: str) -> Iterator[str]:
        """Truth ids (``<refresh date>/<row key>``) of every downloaded snapshot and the current one."""
        current = self.refresh_date(function)
        with self._lock:
            dates = sorted({d for f, d in self._served if f == function and d <= current} | {current})
        report = REPORTS[function]
        for date in dates:
            for row in self.snapshot(function, date):
                yield f"{date.isoformat()}/{row[report.key]}"

    # -- rows ------------------------------------------------------------------------------------
    def _name(self, value: str) -> str:
        return conceal(value) if self.concealed else value

    def _users(self) -> list[UserRef]:
        return sorted(self.directory.users(), key=lambda u: u.id)

    def _last(self, date: dt.date, *parts: object, active: float = 0.7) -> dt.date | None:
        """A last activity date within 30 days before ``date`` (None: never active), stable per day and user."""
        rng = rng_for(self.seed, "usage", date.isoformat(), *parts)
        if rng.random() >= active:
            return None
        return date - dt.timedelta(days=int(rng.random() ** 2 * 30))

    def _assigned(self, user: UserRef) -> dt.date:
        return FIRST_REFRESH_DATE - dt.timedelta(days=30 + rng_for(self.seed, "lic", user.id).randrange(600))

    def _active_users(self, date: dt.date) -> Iterator[Row]:
        workloads = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
        for user in self._users():
            row: Row = {
                "Report Refresh Date": date.isoformat(),
                "User Principal Name": self._name(user.user_principal_name),
                "Display Name": self._name(user.display_name),
                "Is Deleted": "False",
                "Deleted Date": "",
                "Assigned Products": PRODUCTS if user.licensed else "",
            }
            for workload in workloads:
                licensed = user.licensed and workload not in ("Skype For Business", "Yammer")
                row[f"Has {workload} License"] = _bool(licensed)
                share = 0.75 if licensed else 0.05
                row[f"{workload} Last Activity Date"] = _day(self._last(date, user.id, workload, active=share))
                row[f"{workload} License Assign Date"] = _day(self._assigned(user) if licensed else None)
            yield row

    def _mailboxes(self, date: dt.date) -> Iterator[Row]:
        for user in self._users():
            if not user.licensed:
                continue
            rng = rng_for(self.seed, "mailbox-usage", date.isoformat(), user.id)
            items = rng.randrange(200, 20_000)
            yield {
                "Report Refresh Date": date.isoformat(),
                "User Principal Name": self._name(user.user_principal_name),
                "Display Name": self._name(user.display_name),
                "Is Deleted": "False",
                "Deleted Date": "",
                "Created Date": _day(self._assigned(user)),
                "Last Activity Date": _day(self._last(date, user.id, "Exchange", active=0.75)),
                "Item Count": str(items),
                "Storage Used (Byte)": str(items * rng.randrange(20_000, 90_000)),
                "Issue Warning Quota (Byte)": str(105_226_698_752),
                "Prohibit Send Quota (Byte)": str(106_300_440_576),
                "Prohibit Send/Receive Quota (Byte)": str(107_374_182_400),
                "Deleted Item Count": str(rng.randrange(0, 500)),
                "Deleted Item Size (Byte)": str(rng.randrange(0, 50_000_000)),
                "Deleted Item Quota (Byte)": str(32_212_254_720),
                "Has Archive": _bool(rng.random() < 0.2),
                "Report Period": "7",
            }

    def _teams(self, date: dt.date) -> Iterator[Row]:
        for user in self._users():
            rng = rng_for(self.seed, "teams-usage", date.isoformat(), user.id)
            last = self._last(date, user.id, "Teams", active=0.75 if user.licensed else 0.05)
            busy = last is not None and (date - last).days < 7
            counts = [rng.randrange(0, 60) if busy else 0 for _ in range(15)]
            audio, video, screen = (rng.randrange(0, 20_000) if busy else 0 for _ in range(3))
            yield {
                "Report Refresh Date": date.isoformat(),
                "Tenant Display Name": self.tenant_name,
                "Shared Channel Tenant Display Names": "",
                "User Id": self._name(user.id),
                "User Principal Name": self._name(user.user_principal_name),
                "Last Activity Date": _day(last),
                "Is Deleted": "False",
                "Deleted Date": "",
                "Assigned Products": PRODUCTS if user.licensed else "",
                "Team Chat Message Count": str(counts[0]),
                "Private Chat Message Count": str(counts[1]),
                "Call Count": str(counts[2]),
                "Meeting Count": str(counts[3]),
                "Post Messages": str(counts[4]),
                "Reply Messages": str(counts[5]),
                "Urgent Messages": str(counts[6] // 10),
                "Meetings Organized Count": str(counts[7]),
                "Meetings Attended Count": str(counts[8]),
                "Ad Hoc Meetings Organized Count": str(counts[9]),
                "Ad Hoc Meetings Attended Count": str(counts[10]),
                "Scheduled One-time Meetings Organized Count": str(counts[11]),
                "Scheduled One-time Meetings Attended Count": str(counts[12]),
                "Scheduled Recurring Meetings Organized Count": str(counts[13]),
                "Scheduled Recurring Meetings Attended Count": str(counts[14]),
                "Audio Duration": _iso_duration(audio),
                "Video Duration": _iso_duration(video),
                "Screen Share Duration": _iso_duration(screen),
                "Audio Duration In Seconds": str(audio),
                "Video Duration In Seconds": str(video),
                "Screen Share Duration In Seconds": str(screen),
                "Has Other Action": _bool(busy and rng.random() < 0.3),
                "Is Licensed": _bool(user.licensed),
                "Report Period": "7",
            }

    def _onedrive(self, date: dt.date) -> Iterator[Row]:
        prefix = self.directory.domain.split(".")[0]
        for user in self._users():
            if not user.licensed:
                continue
            rng = rng_for(self.seed, "onedrive-usage", date.isoformat(), user.id)
            files = rng.randrange(0, 400)
            yield {
                "Report Refresh Date": date.isoformat(),
                "Site URL": self._name(
                    f"https://{prefix}-my.sharepoint.com/personal/{upn_slug(user.user_principal_name)}"
                ),
                "Owner Display Name": self._name(user.display_name),
                "Is Deleted": "False",
                "Last Activity Date": _day(self._last(date, user.id, "OneDrive", active=0.75)),
                "File Count": str(files),
                "Active File Count": str(rng.randrange(0, files + 1)),
                "Storage Used (Byte)": str(files * rng.randrange(10_000, 2_000_000)),
                "Storage Allocated (Byte)": str(1_099_511_627_776),
                "Owner Principal Name": self._name(user.user_principal_name),
                "Report Period": "7",
            }

    def _sites(self, date: dt.date) -> Iterator[Row]:
        users = self._users()
        for site in sorted(self.sites(), key=lambda s: s.collection_id):
            rng = rng_for(self.seed, "site-usage", date.isoformat(), site.collection_id)
            owner = users[rng_for(self.seed, "site-owner", site.collection_id).randrange(len(users))] if users else None
            files = rng.randrange(0, 2_000)
            yield {
                "Report Refresh Date": date.isoformat(),
                "Site Id": site.collection_id,
                "Site URL": self._name(site.url),
                "Owner Display Name": self._name(site.display_name + " Owners" if site.group else "System Account"),
                "Is Deleted": "False",
                "Last Activity Date": _day(self._last(date, site.collection_id, "SharePoint", active=0.8)),
                "File Count": str(files),
                "Active File Count": str(rng.randrange(0, files + 1)),
                "Page View Count": str(rng.randrange(0, 3_000)),
                "Visited Page Count": str(rng.randrange(0, 300)),
                "Storage Used (Byte)": str(files * rng.randrange(10_000, 3_000_000)),
                "Storage Allocated (Byte)": str(27_487_790_694_400),
                "Root Web Template": "Group" if site.group else "Communication Site",
                "Owner Principal Name": self._name(owner.user_principal_name) if owner and site.group else "",
                "Report Period": "7",
            }


def _iso_duration(seconds: int) -> str:
    """ISO 8601 duration as the Teams report writes it (``PT1H2M3S``; ``PT0S`` for none)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "PT" + (text or "0S")


_ROWS: dict[str, Callable[[UsageReports, dt.date], Iterator[Row]]] = {
    "getOffice365ActiveUserDetail": UsageReports._active_users,
    "getMailboxUsageDetail": UsageReports._mailboxes,
    "getTeamsUserActivityUserDetail": UsageReports._teams,
    "getOneDriveUsageAccountDetail": UsageReports._onedrive,
    "getSharePointSiteUsageDetail": UsageReports._sites,
}
