"""The seeded directory: organization, SKUs, users, groups and group memberships.

Users and groups are materialized (at most a few thousand); mailbox content is derived on demand
(see mailbox.py). Every id is a deterministic function of the seed.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from typing import Any

from .odata import DIRECTORY, Collection, SeqClock, Shape
from .scales import Scale
from .tenant_collab import team_provisioning

FIRST = (
    "Adele Alex Allan Bianca Cameron Christie Debra Diego Emily Enrico Grady Henrietta Irvin Isaiah Johanna "
    "Joni Lee Lidia Lynne Megan Miriam Nestor Patti Pradeep Raul Sanjay Tomas Vanessa Wendy Yuki".split()
)
LAST = (
    "Vance Wilber Deyoung Pires Ray Cline Jackson Bonnet Brown Martin Morales Harris Gonzalez Lopez Grant "
    "Lambert Reyes Larsen Sitaram Patel Okafor Nakamura Novak Silva Tanaka Fischer Rossi Dubois Kowalski Berg".split()
)
DEPARTMENTS = ["Sales", "Marketing", "Engineering", "Finance", "Legal", "Operations", "Support", "HR"]
TITLES = ["Director", "Engineer", "Analyst", "Manager", "Specialist", "Consultant", "Designer", "Coordinator"]
CITIES = ["Seattle", "Redmond", "Dublin", "Berlin", "Tokyo", "Sydney", "Toronto", "Madrid"]

SKUS = [
    ("c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Office 365 E5"),
    ("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3"),
    ("f30db892-07e9-47e9-837c-80727f46fd3d", "FLOW_FREE", "Power Automate Free"),
]
E5 = SKUS[0][0]

# Documented user properties (v1.0) a list or get may $select; the seed leaves these unset (null, or [] for
# collections). Properties Graph returns only for a single user (aboutMe, birthday, mailboxSettings, ...) are left
# out: selecting them is refused as an unknown property.
_USER_NULL = (
    "ageGroup authorizationInfo consentProvidedForMinor country creationType deletedDateTime employeeHireDate "
    "employeeId employeeLeaveDateTime employeeOrgData employeeType externalUserState "
    "externalUserStateChangeDateTime faxNumber isManagementRestricted isResourceAccount lastPasswordChangeDateTime "
    "legalAgeGroupClassification mailNickname onPremisesDistinguishedName onPremisesDomainName "
    "onPremisesExtensionAttributes onPremisesImmutableId onPremisesLastSyncDateTime onPremisesSamAccountName "
    "onPremisesSecurityIdentifier onPremisesSyncEnabled onPremisesUserPrincipalName passwordPolicies "
    "passwordProfile postalCode preferredDataLocation securityIdentifier showInAddressList "
    "signInSessionsValidFromDateTime state streetAddress"
).split()
_USER_EMPTY = (
    "assignedPlans identities imAddresses licenseAssignmentStates onPremisesProvisioningErrors otherMails "
    "provisionedPlans proxyAddresses serviceProvisioningErrors"
).split()
USER_UNSET = tuple(sorted([(p, "null") for p in _USER_NULL] + [(p, "[]") for p in _USER_EMPTY]))

USER_SHAPE = Shape(
    "microsoft.graph.user",
    (
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    ),
    DIRECTORY,
    known=USER_UNSET,
)
GROUP_SHAPE = Shape("microsoft.graph.group", None, DIRECTORY)
MEMBER_SHAPE = Shape("microsoft.graph.directoryObject", None, DIRECTORY)
ORG_SHAPE = Shape("microsoft.graph.organization", None, DIRECTORY)
SKU_SHAPE = Shape("microsoft.graph.subscribedSku", None, DIRECTORY)

# Mailbox kinds (kept in the user's internal "_mailbox" key):
#   licensed: a normal mailbox; shared: a shared mailbox (disabled account, mailbox works);
#   none: unlicensed member or guest (MailboxNotEnabledForRESTAPI); denied: outside the
#   Exchange application access policy (403 ErrorAccessDenied).
READABLE = ("licensed", "shared")


def det_uuid(*parts: object) -> str:
    """A deterministic GUID from its parts."""
    return str(uuid.UUID(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]))


class Directory:
    """Users, groups, memberships, organization and SKUs of one seeded tenant."""

    def __init__(self, seed: int, scale: Scale, clock: SeqClock, n_users: int | None = None) -> None:
        self.seed = seed
        self.scale = scale
        self.clock = clock
        self.tenant_id = det_uuid("tenant", seed)
        self.domain = f"contoso{seed}.onmicrosoft.com"
        self.created = "2021-03-04T10:00:00Z"
        self.lock = threading.RLock()
        n = n_users if n_users is not None else scale.users
        self.users = Collection(clock, (self.make_user(i) for i in range(n)))
        self.user_count = n
        self.groups = Collection(clock)
        self.members: dict[str, list[str]] = {}
        # group id -> [(seq, member id, added?)] for members@delta rounds
        self.member_log: dict[str, list[tuple[int, str, bool]]] = {}
        # owners of each group (users), and their log for owners@delta rounds, as for members
        self.owners: dict[str, list[str]] = {}
        self.owner_log: dict[str, list[tuple[int, str, bool]]] = {}
        self._by_upn: dict[str, str] = {}
        self._index_upns()
        self._seed_groups()
        self._seed_owners()
        self.organization = Collection(clock, [self._org()])
        self.skus = Collection(clock, [self._sku(i) for i in range(len(SKUS))])

    # ---- users --------------------------------------------------------------------------------
    def make_user(self, i: int) -> dict[str, Any]:
        """The seeded user number i."""
        rng = random.Random(f"user:{self.seed}:{i}")
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
        kind = self._mailbox_kind(i)
        uid = det_uuid("user", self.seed, i)
        guest = kind == "guest"
        if guest:
            ext = f"{first.lower()}.{last.lower()}{i}_fabrikam.com"
            upn = f"{ext}#EXT#@{self.domain}"
            mail = f"{first.lower()}.{last.lower()}{i}@fabrikam.com"
        elif kind == "shared":
            upn = f"shared{i}@{self.domain}"
            mail = upn
            first, last = "Shared", f"Mailbox {i}"
        else:
            upn = f"{first.lower()}.{last.lower()}{i}@{self.domain}"
            mail = upn
        licensed = kind in ("licensed", "denied")
        return {
            "id": uid,
            "businessPhones": [f"+1 425 555 {1000 + i:04d}"] if not guest else [],
            "displayName": f"{first} {last}",
            "givenName": first,
            "jobTitle": None if guest else rng.choice(TITLES),
            "mail": mail,
            "mobilePhone": None if rng.random() < 0.5 else f"+1 206 555 {2000 + i:04d}",
            "officeLocation": None if guest else f"{rng.randint(1, 40)}/{rng.randint(1000, 3999)}",
            "preferredLanguage": "en-US",
            "surname": last,
            "userPrincipalName": upn,
            "accountEnabled": kind != "shared",
            "userType": "Guest" if guest else "Member",
            "department": None if guest else rng.choice(DEPARTMENTS),
            "city": rng.choice(CITIES),
            "companyName": "Fabrikam" if guest else "Contoso",
            "createdDateTime": f"202{rng.randint(1, 5)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T08:00:00Z",
            "assignedLicenses": [{"disabledPlans": [], "skuId": E5}] if licensed else [],
            "usageLocation": "US",
            "_index": i,
            "_mailbox": "none" if guest else kind,
        }

    def _mailbox_kind(self, i: int) -> str:
        # Fixed pattern: every 10th user (from 3) unlicensed, every 10th (from 7) a guest,
        # user 5 a shared mailbox, user 9 outside the application access policy.
        if i == 5:
            return "shared"
        if i == 9:
            return "denied"
        if i % 10 == 3:
            return "none"
        if i % 10 == 7:
            return "guest"
        return "licensed"

    def _index_upns(self) -> None:
        self._by_upn = {u["userPrincipalName"].lower(): u["id"] for u in self.users.items.values()}

    def find_user(self, key: str) -> dict[str, Any] | None:
        """A live user by id or UPN (case-insensitive)."""
        u = self.users.items.get(key) or self.users.items.get(key.lower())
        if u is None:
            uid = self._by_upn.get(key.lower())
            u = self.users.items.get(uid) if uid else None
        return u

    def add_user(self) -> dict[str, Any]:
        """Create the next seeded user (mutate op)."""
        with self.lock:
            u = self.make_user(self.user_count)
            self.user_count += 1
            self.users.upsert(u)
            self._by_upn[u["userPrincipalName"].lower()] = u["id"]
            return u

    # ---- groups -------------------------------------------------------------------------------
    def _seed_groups(self) -> None:
        users = list(self.users.items.values())
        members = [u["id"] for u in users if u["userType"] == "Member" and u["accountEnabled"]]
        guests = [u["id"] for u in users if u["userType"] == "Guest"]
        rng = random.Random(f"groups:{self.seed}")
        n = self.scale.groups
        gids = [det_uuid("group", self.seed, g) for g in range(n)]
        for g in range(n):
            if g == 0:
                name, mem = "All Company", members + guests
            elif g == 1:
                name, mem = "Engineering", [m for m in members if rng.random() < 0.4]
            elif g == 2:
                name, mem = "Platform Team", [m for m in members if rng.random() < 0.2]
            elif g == 3:
                name, mem = "Partners (external)", guests + members[:2]
            elif g == 4:
                name, mem = "Leadership", members[: max(2, len(members) // 10)]
            else:
                name, mem = f"Project {g:03d}", rng.sample(members, k=min(len(members), rng.randint(2, 30)))
            if g == 1 and n > 2:
                mem = mem + [gids[2]]  # nested: Platform Team inside Engineering
            if g == 4 and n > 1:
                mem = mem + [gids[1]]
            unified = g % 2 == 0
            group = self.make_group(gids[g], name, unified, rng)
            self.groups.items[group["id"]] = group
            self.members[group["id"]] = list(dict.fromkeys(mem))
            self.member_log[group["id"]] = []

    def _seed_owners(self) -> None:
        """One or two owners for most groups (some groups have none, as when their owner left), from the
        group's own member users when it has some; an rng of its own so the seeded groups stay as they were."""
        rng = random.Random(f"owners:{self.seed}")
        staff = [u["id"] for u in self.users.items.values() if u["userType"] == "Member" and u["accountEnabled"]]
        is_staff = set(staff)
        for gid in self.groups.items:
            in_group = [m for m in self.members.get(gid, []) if m in is_staff] or staff
            picked = rng.random() < 0.85
            owners = rng.sample(in_group, k=min(len(in_group), rng.choice((1, 1, 2)))) if picked else []
            self.owners[gid] = owners
            self.owner_log[gid] = []

    def set_ownership(self, gid: str, user_id: str, add: bool) -> None:
        """Add or remove an owner; the group shows up in the next groups/delta round (owners@delta)."""
        self._set_link("owners", self.owners, self.owner_log, gid, user_id, add)

    def _set_link(
        self,
        relation: str,
        links: dict[str, list[str]],
        log: dict[str, list[tuple[int, str, bool]]],
        gid: str,
        object_id: str,
        add: bool,
    ) -> None:
        """Add or remove ``object_id`` in a group's ``relation`` (members, owners); a change is logged for the
        next groups/delta round (``<relation>@delta``), a no-op is not."""
        with self.lock:
            linked = links.setdefault(gid, [])
            if add and object_id not in linked:
                linked.append(object_id)
            elif not add and object_id in linked:
                linked.remove(object_id)
            else:
                return
            seq = self.groups.upsert(self.groups.items[gid], fields=[relation])
            log.setdefault(gid, []).append((seq, object_id, add))

    def make_group(self, gid: str, name: str, unified: bool, rng: random.Random) -> dict[str, Any]:
        """A group object."""
        nick = "".join(ch for ch in name.lower() if ch.isalnum())[:40] or "group"
        return {
            "id": gid,
            "createdDateTime": f"2022-0{rng.randint(1, 9)}-2{rng.randint(0, 8)}T09:30:00Z",
            "description": f"{name} group",
            "displayName": name,
            "groupTypes": ["Unified"] if unified else [],
            "mail": f"{nick}@{self.domain}" if unified else None,
            "mailEnabled": unified,
            "mailNickname": nick,
            "securityEnabled": not unified,
            "visibility": "Private" if rng.random() < 0.3 else "Public",
            "classification": None,
            "renewedDateTime": "2024-01-01T00:00:00Z",
            "resourceProvisioningOptions": team_provisioning(self.seed, gid, unified),
        }

    def member_object(self, member_id: str) -> dict[str, Any]:
        """A members-list entry for a user or group id."""
        u = self.users.items.get(member_id)
        if u is None and self.users.ever_had(member_id):  # a deleted user: only the type and id are known
            return {"@odata.type": "#microsoft.graph.user", "id": member_id, "displayName": None, "mail": None}
        if u is not None:
            return {
                "@odata.type": "#microsoft.graph.user",
                "id": member_id,
                "displayName": u["displayName"],
                "mail": u["mail"],
                "userPrincipalName": u["userPrincipalName"],
                "userType": u["userType"],
            }
        g = self.groups.items.get(member_id)
        return {
            "@odata.type": "#microsoft.graph.group",
            "id": member_id,
            "displayName": g["displayName"] if g else None,
            "mail": g["mail"] if g else None,
        }

    def set_membership(self, gid: str, member_id: str, add: bool) -> None:
        """Add or remove a member; the group shows up in the next groups/delta round."""
        self._set_link("members", self.members, self.member_log, gid, member_id, add)

    def remove_user(self, uid: str, reason: str = "changed") -> None:
        """Delete a user: gone from lists and groups. Delta reports `reason`: 'changed' (soft-deleted,
        restorable) or 'deleted' (permanently deleted)."""
        with self.lock:
            for gid, mem in list(self.members.items()):
                if uid in mem and gid in self.groups.items:
                    self.set_membership(gid, uid, False)
            for gid, owners in list(self.owners.items()):
                if uid in owners and gid in self.groups.items:
                    self.set_ownership(gid, uid, False)
            self.users.remove(uid, reason)

    def remove_group(self, gid: str, reason: str = "changed") -> None:
        """Delete a group (and membership of it); `reason` as for remove_user."""
        with self.lock:
            for other, mem in list(self.members.items()):
                if gid in mem and other in self.groups.items and other != gid:
                    self.set_membership(other, gid, False)
            self.groups.remove(gid, reason)
            self.members.pop(gid, None)
            self.owners.pop(gid, None)

    # ---- organization and SKUs -----------------------------------------------------------------
    def _org(self) -> dict[str, Any]:
        return {
            "id": self.tenant_id,
            "displayName": f"Contoso {self.seed}",
            "businessPhones": ["+1 425 555 0100"],
            "city": "Redmond",
            "country": None,
            "countryLetterCode": "US",
            "createdDateTime": self.created,
            "tenantType": "AAD",
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": True,
                    "isInitial": True,
                    "name": self.domain,
                    "type": "Managed",
                }
            ],
            "assignedPlans": [],
            "technicalNotificationMails": [f"admin@{self.domain}"],
        }

    def _sku(self, i: int) -> dict[str, Any]:
        sku_id, part, _name = SKUS[i]
        consumed = sum(
            1 for u in self.users.items.values() if any(lic["skuId"] == sku_id for lic in u["assignedLicenses"])
        )
        return {
            "id": f"{self.tenant_id}_{sku_id}",
            "accountId": self.tenant_id,
            "accountName": f"Contoso {self.seed}",
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": consumed,
            "skuId": sku_id,
            "skuPartNumber": part,
            "subscriptionIds": [det_uuid("sub", self.seed, i)],
            "prepaidUnits": {"enabled": max(25, consumed + 5), "suspended": 0, "warning": 0, "lockedOut": 0},
            "servicePlans": [],
        }

    # ---- truth ---------------------------------------------------------------------------------
    def group_member_ids(self) -> list[str]:
        """'{group_id}/{member_id}' for every direct membership of a live group."""
        return [f"{g}/{m}" for g, mem in self.members.items() if g in self.groups.items for m in mem]

    def group_owner_ids(self) -> list[str]:
        """'{group_id}/{owner_id}' for every owner of a live group."""
        return [f"{g}/{o}" for g, owners in self.owners.items() if g in self.groups.items for o in owners]
