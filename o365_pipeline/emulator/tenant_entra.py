"""Entra governance of the emulated tenant: directory roles and who holds them, Conditional Access policies and
each user's authentication-method registration (MFA), derived from the seed and the core directory's users.

Role definitions and their assignments follow the unified RBAC API (``roleManagement/directory``), which
Microsoft recommends over ``directoryRoles``: it also carries custom roles and scoped assignments. Registration
details are computed from the live users (a new user has a row without methods, a deleted one has none); only
what ``/_emulator/mutate`` changed is stored.
"""

from __future__ import annotations

import base64
import random
import threading
import uuid
from typing import TYPE_CHECKING, Any

from .workload_kit import EPOCH_TICKS, TICKS_PER_SECOND, JsonDict, fmt_ticks, guid, rng_for

if TYPE_CHECKING:
    from .tenant import Directory

# Built-in roles (their template ids are the same in every tenant) and one custom role of the tenant.
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
BUILT_IN_ROLES = (
    (GLOBAL_ADMIN, "Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services."),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", "Can manage all aspects of users and groups."),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator", "Can manage all aspects of Exchange."),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator", "Can manage all aspects of SharePoint."),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", "Can reset passwords for non-administrators."),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader", "Can read security information and reports."),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", "Can manage role assignments."),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", "Can read everything a Global Administrator can."),
)
# role -> how many users hold it in the seeded tenant (Global Reader: nobody, as roles often are)
SEEDED_HOLDERS = {0: 2, 1: 2, 2: 1, 3: 1, 4: 3, 5: 1, 6: 1, 7: 0}
CUSTOM_HOLDERS = 1
# Registration mixes: (share of members, methodsRegistered). Guests mostly register nothing with the tenant.
METHOD_MIXES = (
    (0.35, ("microsoftAuthenticatorPush", "softwareOneTimePasscode")),
    (0.15, ("mobilePhone",)),
    (0.12, ("microsoftAuthenticatorPush", "mobilePhone")),
    (0.06, ("fido2", "microsoftAuthenticatorPush")),
    (0.06, ("windowsHelloForBusiness", "microsoftAuthenticatorPasswordless")),
    (0.08, ("email",)),
    (0.18, ()),
)
# methods that are not a second factor (self-service password reset only)
NOT_MFA = {"email", "securityQuestion"}
PASSWORDLESS = {"fido2", "windowsHelloForBusiness", "microsoftAuthenticatorPasswordless", "passKeyDeviceBound"}
CA_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")


def assignment_id(role_id: str, principal_id: str) -> str:
    """Graph's id of a role assignment: base64url of the role and principal GUIDs (little-endian) + ``-1``."""
    raw = uuid.UUID(role_id).bytes_le + uuid.UUID(principal_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "-1"


class EntraGovernance:
    """Role definitions and assignments, Conditional Access policies and registration details of one tenant."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.seed = directory.seed
        self._lock = threading.Lock()
        self.roles: dict[str, JsonDict] = {}
        for role_id, name, description in BUILT_IN_ROLES:
            self.roles[role_id] = _role(role_id, name, description, built_in=True)
        custom = guid(self.seed, "custom-role")
        self.roles[custom] = _role(custom, "Contoso Licence Auditor", "Reads licences and usage reports.", False)
        self.assignments: dict[str, JsonDict] = {}
        self._seed_assignments(custom)
        self.policies: dict[str, JsonDict] = {p["id"]: p for p in _policies(self.seed, directory)}
        self._methods: dict[str, tuple[str, ...]] = {}  # user id -> methods changed by mutate
        self._updated: dict[str, int] = {}  # user id -> ticks of that change

    # ---- roles ---------------------------------------------------------------------------------------
    def _staff(self) -> list[dict[str, Any]]:
        users = list(self.directory.users.items.values())
        return [u for u in users if u["userType"] == "Member"] or users

    def _seed_assignments(self, custom: str) -> None:
        rng = random.Random(f"role-assignments:{self.seed}")
        staff = self._staff()
        holders = [(BUILT_IN_ROLES[i][0], n) for i, n in SEEDED_HOLDERS.items()] + [(custom, CUSTOM_HOLDERS)]
        for role_id, count in holders:
            for user in rng.sample(staff, k=min(count, len(staff))):
                self.assign(role_id, user["id"])

    def assign(self, role_id: str, principal_id: str) -> str:
        """Give a principal a role over the whole directory; returns the assignment id."""
        item = {
            "id": assignment_id(role_id, principal_id),
            "principalId": principal_id,
            "roleDefinitionId": role_id,
            "directoryScopeId": "/",
            "appScopeId": None,
            "condition": None,
            "principalOrganizationId": self.directory.tenant_id,
        }
        with self._lock:
            self.assignments[item["id"]] = item
        return str(item["id"])

    def live_assignments(self) -> list[JsonDict]:
        """Assignments of principals that still exist (deleting a user ends its role assignments)."""
        users = self.directory.users.items
        return [a for a in list(self.assignments.values()) if a["principalId"] in users]

    def is_admin(self, user_id: str) -> bool:
        """Whether the user holds a directory role (``isAdmin`` of the registration report)."""
        return any(a["principalId"] == user_id for a in self.live_assignments())

    def mutate_assignments(self, op: str, count: int, rng: random.Random) -> list[str]:
        """create: a user gets a role it did not hold; delete: an assignment ends."""
        out: list[str] = []
        for _ in range(count):
            if op == "create":
                role_id = rng.choice(sorted(self.roles))
                held = {a["principalId"] for a in self.live_assignments() if a["roleDefinitionId"] == role_id}
                cands = [u["id"] for u in self._staff() if u["id"] not in held]
                if not cands:
                    continue
                out.append(self.assign(role_id, rng.choice(cands)))
            elif op == "delete":
                live = sorted(a["id"] for a in self.live_assignments())
                if not live:
                    break
                gone = rng.choice(live)
                with self._lock:
                    self.assignments.pop(gone, None)
                out.append(gone)
            else:
                raise ValueError(f"unknown op {op!r} for directory_role_members (create|delete)")
        return out

    # ---- Conditional Access ----------------------------------------------------------------------------
    def mutate_policies(self, op: str, count: int, rng: random.Random, ticks: int) -> list[str]:
        """create a report-only policy, update (a policy's state moves on) or delete a policy."""
        out: list[str] = []
        for _ in range(count):
            if op == "create":
                policy = _policy(
                    guid(self.seed, "ca-new", len(self.policies), rng.random()),
                    f"New policy {len(self.policies) + 1}",
                    "enabledForReportingButNotEnforced",
                    {"includeUsers": ["All"]},
                    {"operator": "OR", "builtInControls": ["mfa"]},
                    ticks,
                )
                with self._lock:
                    self.policies[policy["id"]] = policy
                out.append(policy["id"])
                continue
            ids = sorted(self.policies)
            if not ids:
                break
            pid = rng.choice(ids)
            if op == "update":
                old = self.policies[pid]
                state = CA_STATES[(CA_STATES.index(old["state"]) + 1) % len(CA_STATES)]
                with self._lock:
                    self.policies[pid] = {**old, "state": state, "modifiedDateTime": fmt_ticks(ticks)}
            elif op == "delete":
                with self._lock:
                    self.policies.pop(pid, None)
            else:
                raise ValueError(f"unknown op {op!r} for conditional_access_policies (create|update|delete)")
            out.append(pid)
        return out

    # ---- registration details ------------------------------------------------------------------------
    def methods(self, user: dict[str, Any]) -> tuple[str, ...]:
        """The authentication methods a user registered (seeded mix, or what a mutation set)."""
        if user["id"] in self._methods:
            return self._methods[user["id"]]
        rng = rng_for(self.seed, "auth-methods", user["id"])
        if user["userType"] == "Guest":
            return ("mobilePhone",) if rng.random() < 0.3 else ()
        pick, edge = rng.random(), 0.0
        for share, methods in METHOD_MIXES:
            edge += share
            if pick < edge:
                return methods
        return ()

    def registration(self, user: dict[str, Any], admins: set[str] | None = None) -> JsonDict:
        """The user's row of reports/authenticationMethods/userRegistrationDetails (``admins``: the ids holding a
        role, when the caller has them at hand)."""
        methods = self.methods(user)
        mfa = any(m not in NOT_MFA for m in methods)
        sspr = bool(methods)
        member = user["userType"] != "Guest"
        if "microsoftAuthenticatorPush" in methods:
            preferred, system = "push", ["push"]
        elif "softwareOneTimePasscode" in methods:
            preferred, system = "oath", ["oath"]
        elif "mobilePhone" in methods:
            preferred, system = "sms", ["sms"]
        else:
            preferred, system = "none", []
        rng = rng_for(self.seed, "auth-updated", user["id"])
        updated = self._updated.get(user["id"], EPOCH_TICKS - rng.randint(1, 400) * 86400 * TICKS_PER_SECOND)
        return {
            "id": user["id"],
            "userPrincipalName": user["userPrincipalName"],
            "userDisplayName": user["displayName"],
            "userType": "member" if member else "guest",
            "isAdmin": user["id"] in admins if admins is not None else self.is_admin(user["id"]),
            "isSsprRegistered": sspr,
            "isSsprEnabled": member,
            "isSsprCapable": sspr and member,
            "isMfaRegistered": mfa,
            "isMfaCapable": mfa and bool(user.get("accountEnabled")),
            "isPasswordlessCapable": bool(PASSWORDLESS & set(methods)),
            "methodsRegistered": list(methods),
            "isSystemPreferredAuthenticationMethodEnabled": True,
            "systemPreferredAuthenticationMethods": system,
            "userPreferredMethodForSecondaryAuthentication": preferred,
            "lastUpdatedDateTime": fmt_ticks(updated),
        }

    def registrations(self) -> list[JsonDict]:
        """Every live user's registration details, in the directory's order."""
        admins = {a["principalId"] for a in self.live_assignments()}
        return [self.registration(u, admins) for u in list(self.directory.users.items.values())]

    def mutate_registrations(self, op: str, count: int, rng: random.Random, ticks: int) -> list[str]:
        """update: a user registers the Authenticator app (or, having it, removes every method)."""
        if op != "update":
            raise ValueError(f"unknown op {op!r} for user_registration_details (update)")
        users = list(self.directory.users.items.values())
        out: list[str] = []
        for _ in range(min(count, len(users))):
            user = rng.choice(users)
            now = self.methods(user)
            with self._lock:
                self._methods[user["id"]] = (
                    () if "microsoftAuthenticatorPush" in now else (*now, "microsoftAuthenticatorPush")
                )
                self._updated[user["id"]] = ticks
            out.append(user["id"])
        return out


def _role(role_id: str, name: str, description: str, built_in: bool) -> JsonDict:
    actions = ["microsoft.directory/allEntities/allProperties/allTasks"] if role_id == GLOBAL_ADMIN else []
    if not actions:
        actions = [f"microsoft.directory/{name.split()[0].lower()}/standard/read"]
    return {
        "id": role_id,
        "description": description,
        "displayName": name,
        "isBuiltIn": built_in,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": role_id,
        "version": "1" if built_in else None,
        "rolePermissions": [{"allowedResourceActions": actions, "condition": None, "excludedResourceActions": []}],
    }


def _policy(
    policy_id: str,
    name: str,
    state: str,
    users: dict[str, list[str]],
    grant: dict[str, Any] | None,
    ticks: int,
    *,
    client_apps: tuple[str, ...] = ("all",),
    applications: tuple[str, ...] = ("All",),
    session: dict[str, Any] | None = None,
) -> JsonDict:
    empty_users = dict.fromkeys(
        ("includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"), []
    )
    return {
        "id": policy_id,
        "templateId": None,
        "displayName": name,
        "description": None,
        "createdDateTime": fmt_ticks(ticks),
        "modifiedDateTime": None,
        "state": state,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": list(client_apps),
            "servicePrincipalRiskLevels": [],
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "applications": {
                "includeApplications": list(applications),
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                **empty_users,
                **users,
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": None
        if grant is None
        else {"customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": None, **grant},
        "sessionControls": session,
    }


def _policies(seed: int, directory: Directory) -> list[JsonDict]:
    """Five policies as a tenant has them: admins need MFA (the one the sign-in log shows), legacy clients are
    blocked, MFA for everyone in report-only mode, a disabled device policy, and guests sign in again daily."""
    base = EPOCH_TICKS - 200 * 86400 * TICKS_PER_SECOND
    admin_roles = [role_id for role_id, _, _ in BUILT_IN_ROLES[:5]]
    first = next(iter(directory.users.items), None)  # a break-glass account left out of the MFA-for-all policy
    mfa = {"operator": "OR", "builtInControls": ["mfa"]}
    return [
        _policy(guid(seed, "ca-policy"), "Require MFA for admins", "enabled", {"includeRoles": admin_roles}, mfa, base),
        _policy(
            guid(seed, "ca-policy", 2),
            "Block legacy authentication",
            "enabled",
            {"includeUsers": ["All"]},
            {"operator": "OR", "builtInControls": ["block"]},
            base + 1,
            client_apps=("exchangeActiveSync", "other"),
        ),
        _policy(
            guid(seed, "ca-policy", 3),
            "Require MFA for all users",
            "enabledForReportingButNotEnforced",
            {"includeUsers": ["All"], "excludeUsers": [first] if first else []},
            mfa,
            base + 2,
        ),
        _policy(
            guid(seed, "ca-policy", 4),
            "Require compliant device for Office 365",
            "disabled",
            {"includeUsers": ["All"]},
            {"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]},
            base + 3,
            applications=("Office365",),
        ),
        _policy(
            guid(seed, "ca-policy", 5),
            "Guests sign in again every day",
            "enabled",
            {"includeUsers": ["GuestsOrExternalUsers"]},
            None,
            base + 4,
            session={
                "applicationEnforcedRestrictions": None,
                "cloudAppSecurity": None,
                "persistentBrowser": None,
                "disableResilienceDefaults": None,
                "signInFrequency": {
                    "value": 1,
                    "type": "days",
                    "authenticationType": "primaryAndSecondaryAuthentication",
                    "frequencyInterval": "timeBased",
                    "isEnabled": True,
                },
            },
        ),
    ]
