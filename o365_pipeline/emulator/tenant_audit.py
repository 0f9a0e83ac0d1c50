"""Directory audit and sign-in logs of the emulated tenant, derived from the seed.

A log holds ``base_count`` historical events spread over the 30 days before the tenant epoch,
strictly newer for lower indexes, so an event is computed from its index and a date range maps to
an index range by binary search (memory stays flat at any scale). `create` appends newer events.
Lists are newest first, as Graph returns them.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from .workload_directory import Directory, UserRef
from .workload_kit import (
    EPOCH_TICKS,
    TICKS_PER_SECOND,
    JsonDict,
    TimeRange,
    b64url_id,
    fmt_ticks,
    guid,
    rng_for,
)

RETENTION_TICKS = 30 * 86400 * TICKS_PER_SECOND
# About one account in four is dormant: it never signs in within the log's 30 days, as in a real tenant, so
# reports of stale accounts and unused licences have something to show beside the active users.
DORMANT_SHARE = 0.25
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

_APPS = (
    ("de8bc8b5-d9f9-48b1-a8ad-b748da725064", "Graph Explorer"),
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
)
_CLIENTS = ("Browser", "Mobile Apps and Desktop clients", "Exchange ActiveSync", "Other clients")
_PLACES = (("Redmond", "Washington", "US"), ("Paris", "Ile-de-France", "FR"), ("Berlin", "Berlin", "DE"))
_DEVICES = (("Windows 10", "Edge 120.0.0"), ("MacOs", "Safari 17.1"), ("Ios", "Mobile Safari"), ("Linux", "Firefox"))
_AUDIT_ACTIVITIES = (
    ("UserManagement", "Core Directory", "Update user", "Update", "User"),
    ("UserManagement", "Core Directory", "Add user", "Add", "User"),
    ("GroupManagement", "Core Directory", "Add member to group", "Assign", "Group"),
    ("GroupManagement", "Core Directory", "Remove member from group", "Unassign", "Group"),
    ("ApplicationManagement", "Core Directory", "Update application", "Update", "Application"),
    ("UserManagement", "Self-service Password Management", "Reset password (self-service)", "Update", "User"),
    ("RoleManagement", "Core Directory", "Add member to role", "Assign", "Role"),
)


@dataclass(frozen=True)
class _Created:
    key: int
    ticks: int


class EventLog:
    """One newest-first log (directory audits or sign-ins): base events by index plus created ones."""

    def __init__(self, directory: Directory, kind: str, base_count: int) -> None:
        if kind not in ("directoryAudits", "signIns"):
            raise ValueError(f"unknown audit log {kind!r}")
        self.directory = directory
        self.kind = kind
        self.seed = directory.seed
        self.base_count = base_count
        self._step = max(1, RETENTION_TICKS // max(1, base_count))
        self._created: list[_Created] = []
        self._users: tuple[int, list[UserRef]] = (-1, [])
        self._signers: list[UserRef] = []
        self._lock = threading.Lock()

    @property
    def time_property(self) -> str:
        """The property lists are ordered and filtered by."""
        return "activityDateTime" if self.kind == "directoryAudits" else "createdDateTime"

    def _base_ticks(self, index: int) -> int:
        jitter = rng_for(self.seed, self.kind, "t", index).randrange(max(1, self._step - 1))
        return EPOCH_TICKS - index * self._step - jitter - 1

    def _user_list(self) -> list[UserRef]:
        version = self.directory.users_version()
        if self._users[0] != version:
            users = list(self.directory.users())
            self._signers = [user for user in users if not dormant(self.seed, user)] or users
            self._users = (version, users)
        return self._users[1]

    def count(self) -> int:
        """How many events the log holds."""
        return self.base_count + len(self._created)

    def ids(self) -> Iterator[str]:
        """Every event id (for truth)."""
        for index in range(self.base_count):
            yield self._event_id(("b", index))
        for created in list(self._created):
            yield self._event_id(("c", created.key))

    def _first_base_at_or_before(self, ticks: int) -> int:
        """The lowest base index whose time is <= ``ticks`` (times fall as the index grows)."""
        lo, hi = 0, self.base_count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._base_ticks(mid) <= ticks:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def page(self, window: TimeRange, size: int) -> tuple[list[JsonDict], bool]:
        """Up to ``size`` events within ``window``, newest first, and whether more follow."""
        out: list[JsonDict] = []
        with self._lock:
            created = [c for c in reversed(self._created) if window.contains(c.ticks)]
        for c in created:
            if len(out) > size:
                break
            out.append(self._render(("c", c.key), c.ticks))
        index = self._first_base_at_or_before(window.high) if window.high is not None else 0
        while len(out) <= size and index < self.base_count:
            ticks = self._base_ticks(index)
            if window.low is not None and ticks < window.low:
                break
            out.append(self._render(("b", index), ticks))
            index += 1
        return out[:size], len(out) > size

    def create(self, count: int) -> list[str]:
        """Append ``count`` events newer than every existing one; returns their ids."""
        with self._lock:
            last = self._created[-1].ticks if self._created else EPOCH_TICKS
            made: list[str] = []
            for _ in range(count):
                key = len(self._created)
                last += rng_for(self.seed, self.kind, "c", key).randint(1, 90) * TICKS_PER_SECOND + 1234
                self._created.append(_Created(key, last))
                made.append(self._event_id(("c", key)))
            return made

    # -- rendering -------------------------------------------------------------------------
    def _event_id(self, key: tuple[str, int]) -> str:
        if self.kind == "signIns":
            return guid(self.seed, "signin", *key)
        corr = guid(self.seed, "audit-corr", *key)
        suffix = b64url_id(4, self.seed, "audit-sfx", *key).upper()[:5].replace("-", "X").replace("_", "Y")
        number = rng_for(self.seed, "audit-num", *key).randint(10_000_000, 99_999_999)
        return f"Directory_{corr}_{suffix}_{number}"

    def _render(self, key: tuple[str, int], ticks: int) -> JsonDict:
        rng = rng_for(self.seed, self.kind, "body", *key)
        users = self._user_list()
        if self.kind == "signIns":
            signers = self._signers
            user = signers[rng.randrange(len(signers))] if signers else None
            return _sign_in(self._event_id(key), ticks, rng, user, self.directory)
        user = users[rng.randrange(len(users))] if users else None
        return _directory_audit(self._event_id(key), ticks, rng, user, users)


def dormant(seed: int, user: UserRef) -> bool:
    """Whether the user is one of the tenant's dormant accounts (no sign-in in the log); fixed by the seed."""
    return rng_for(seed, "dormant", user.id).random() < DORMANT_SHARE


def _sign_in(
    event_id: str,
    ticks: int,
    rng: random.Random,
    user: UserRef | None,
    directory: Directory,
) -> JsonDict:
    app_id, app_name = rng.choice(_APPS)
    city, state, country = rng.choice(_PLACES)
    os_name, browser = rng.choice(_DEVICES)
    failed = rng.random() < 0.08
    risky = rng.random() < 0.03
    return {
        "id": event_id,
        "createdDateTime": fmt_ticks(ticks),
        "userDisplayName": user.display_name if user else None,
        "userPrincipalName": user.user_principal_name if user else None,
        "userId": user.id if user else None,
        "appId": app_id,
        "appDisplayName": app_name,
        "ipAddress": f"203.0.{int(rng.random() * 255)}.{int(rng.random() * 254) + 1}",
        "clientAppUsed": rng.choice(_CLIENTS),
        "correlationId": guid(event_id, "corr"),
        "conditionalAccessStatus": "success" if rng.random() < 0.6 else "notApplied",
        "isInteractive": rng.random() < 0.7,
        "riskDetail": "none",
        "riskLevelAggregated": "medium" if risky else "none",
        "riskLevelDuringSignIn": "medium" if risky else "none",
        "riskState": "atRisk" if risky else "none",
        "riskEventTypes_v2": ["unfamiliarFeatures"] if risky else [],
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": GRAPH_APP_ID,
        "status": {
            "errorCode": 50126 if failed else 0,
            "failureReason": "Invalid username or password or Invalid on-premise username or password."
            if failed
            else None,
            "additionalDetails": None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": None,
            "operatingSystem": os_name,
            "browser": browser,
            "isCompliant": None,
            "isManaged": None,
            "trustType": None,
        },
        "location": {
            "city": city,
            "state": state,
            "countryOrRegion": country,
            "geoCoordinates": {"altitude": None, "latitude": 47.68 if country == "US" else 48.85, "longitude": 2.35},
        },
        "appliedConditionalAccessPolicies": [
            {
                "id": guid(directory.seed, "ca-policy"),
                "displayName": "Require MFA for admins",
                "enforcedGrantControls": [],
                "enforcedSessionControls": [],
                "result": "notApplied",
            }
        ],
    }


def _directory_audit(
    event_id: str,
    ticks: int,
    rng: random.Random,
    user: UserRef | None,
    users: list[UserRef],
) -> JsonDict:
    category, service, activity, operation, target_type = rng.choice(_AUDIT_ACTIVITIES)
    target = users[int(rng.random() * len(users))] if users else None
    by_app = rng.random() < 0.25
    initiated: JsonDict = {"app": None, "user": None}
    if by_app or user is None:
        initiated["app"] = {
            "appId": None,
            "displayName": "Microsoft Substrate Management",
            "servicePrincipalId": guid(event_id, "sp"),
            "servicePrincipalName": None,
        }
    else:
        initiated["user"] = {
            "id": user.id,
            "displayName": None,
            "userPrincipalName": user.user_principal_name,
            "ipAddress": f"198.51.100.{int(rng.random() * 254) + 1}",
        }
    return {
        "id": event_id,
        "category": category,
        "correlationId": event_id.split("_")[1],
        "result": "success" if rng.random() < 0.95 else "failure",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": fmt_ticks(ticks),
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": initiated,
        "targetResources": [
            {
                "id": target.id if target and target_type == "User" else guid(event_id, "target"),
                "displayName": target.display_name if target and target_type == "User" else None,
                "type": target_type,
                "userPrincipalName": target.user_principal_name if target and target_type == "User" else None,
                "groupType": "unifiedGroups" if target_type == "Group" else None,
                "modifiedProperties": [],
            }
        ],
        "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}],
    }
