"""The entity table: one row per raw table, driving the dlt resources, the Dagster assets and the probes.

Adding an entity is adding a row here (plus tests), not a module. Paths are Graph v1.0 paths relative to
``/v1.0`` exactly as Graph's documentation writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .tenant import Tenant

from .reports import report_columns, report_descriptions

Strategy = Literal["delta", "cursor", "replace", "snapshot"]
DataType = Literal["text", "bool", "bigint", "double", "timestamp", "json", "date"]
PageSizeBy = Literal["top", "prefer"]
# the functions of :data:`o365_pipeline.graph.readers.READERS`: how a round pages and fans out
ReaderName = Literal[
    "directory_delta",
    "members_delta",
    "list",
    "date_cursor",
    "mailbox_delta",
    "messages_delta",
    "contacts_delta",
    "calendar_view_delta",
    "drive_delta",
    "mailbox_list",
    "attachments",
    "group_list",
    "plan_tasks",
    "team_list",
    "business_list",
    "parent_list",
    # ---- sharepoint ----
    "sites",
    "site_list",
    "site_drives",
    "list_items_delta",
    "library_delta",
    "report_snapshot",
    # ---- teams messages and members ----
    "channel_messages_delta",
    "channel_replies_delta",
    "channel_list",
]


@dataclass(frozen=True)
class ParentKind:
    """What an entity's reader fans out over: the tenant itself, or each of a kind of parent (mailbox, group...).

    Attributes:
        name: the parent kind (``tenant``, ``mailbox``, ``group``, ``plan``, ``team``, ``business``, ``channel``).
        placeholder: the parent's id in the entity's path (``{user_id}``); ``None`` for the tenant.
        key_columns: the raw table's primary key (a mailbox's items are unique per mailbox only).
        unit: what progress lines count the parents in (``12/40 mailboxes``); ``None``: not counted.
        lister: lists the parents' ids through the sync's :class:`~o365_pipeline.graph.tenant.Tenant` (which
            lists each kind once per sync); ``None`` for the tenant.
    """

    name: str
    placeholder: str | None
    key_columns: tuple[str, ...]
    unit: str | None
    lister: Callable[[Tenant], list[str]] | None = field(default=None, repr=False, compare=False)

    def parent_ids(self, tenant: Tenant) -> list[str]:
        """The ids of this kind's parents (the values of :attr:`placeholder`), listed once per sync.

        Raises:
            ValueError: for the tenant itself, which is no parent to list.
        """
        if self.lister is None:
            raise ValueError(f"the {self.name} parent kind has no parents to list")
        return self.lister(tenant)


TENANT = ParentKind("tenant", None, ("id",), None)
MAILBOX = ParentKind(
    "mailbox", "user_id", ("user_id", "id"), "mailboxes", lambda tenant: [u.id for u in tenant.users_for_content()]
)
GROUP = ParentKind("group", "group_id", ("id",), "groups", lambda tenant: tenant.unified_group_ids())  # Microsoft 365
PLAN = ParentKind("plan", "plan_id", ("id",), "plans", lambda tenant: tenant.plan_ids())
TEAM = ParentKind("team", "team_id", ("id",), "teams", lambda tenant: tenant.team_ids())
BUSINESS = ParentKind("business", "business_id", ("id",), "businesses", lambda tenant: tenant.business_ids())
# SharePoint: a site's lists are streams within it (as a mailbox's folders); a document library is a drive
SITE = ParentKind("site", "site_id", ("id",), "sites", lambda tenant: tenant.site_ids())
DRIVE = ParentKind("drive", "drive_id", ("id",), "drives", lambda tenant: [d["id"] for d in tenant.libraries().drives])
# a channel is known by its team and its own id ({team_id} then {channel_id} in paths); Graph's message ids are
# unique per channel only, so its tables are keyed by both. Its parents are listed as "team_id/channel_id".
CHANNEL = ParentKind(
    "channel",
    "team_id",
    ("team_id", "channel_id", "id"),
    "channels",
    lambda tenant: [f"{team_id}/{channel_id}" for team_id, channel_id in tenant.channels()],
)
PARENT_KINDS: tuple[ParentKind, ...] = (TENANT, MAILBOX, GROUP, PLAN, TEAM, BUSINESS, SITE, DRIVE, CHANNEL)
OUTLOOK_WORKLOADS = ("mail", "calendar", "contacts")  # a mailbox's Outlook items: ids regular or immutable


@dataclass(frozen=True)
class Entity:
    """How one Office 365 entity is read from Graph and stored.

    Attributes:
        name: raw table name (snake_case plural, CONTRACT section 4).
        path: the collection path (for delta entities, the delta function path).
        workload: Dagster asset group (directory, mail, calendar, files, ...).
        strategy: ``delta`` (deltaLink in dlt state), ``cursor`` (date ``$filter``), ``replace``, or ``snapshot``
            (a usage report: one snapshot per report refresh date, a new date adds rows, the same date replaces).
        select: properties for ``$select`` (empty: Graph's default set).
        columns: scalar properties with their types, declared up front so the raw table always has them
            (dlt creates no column for a property that is null on every row).
        reader: the function of :mod:`o365_pipeline.graph.readers` that reads it (how it pages and fans out).
        cursor: the date property a ``cursor`` entity filters on (``$filter=<cursor> ge <last seen>``).
        item_path: path of one item (``{id}`` filled in): directory delta reports an update with only the
            changed properties, so such items are read again in full through ``$batch``.
        page_size: the page size to ask for, the largest Graph allows (``None``: Graph's own page size).
        page_size_by: how it is asked: ``top`` (``$top``) or ``prefer`` (``Prefer: odata.maxpagesize``, the
            Outlook delta functions that page by it).
        permission: least-privilege application permission that reads it.
        probe: a cheap path ``test-connection`` calls to prove access.
        description: one line shown in the Dagster UI.
        layout: for the Arrow fast path of the big entities, the properties stored beyond ``id`` and ``columns``,
            with their types (dotted paths into nested objects, ``from.emailAddress``; lists as ``json``; the
            first segment may be a key the reader adds, ``user_id``); a property in neither is not stored.
            Empty: dlt infers the table.
        parent: the entity this one's reader rides on when a run reads both (attachment tables: the parent's
            reader hands over its changed ids, :mod:`o365_pipeline.graph.feed`); read alone, it reads on its own.
        parent_column: with ``parent``, the column (and path placeholder) naming the parent row (``message_id``).
        over: what the reader fans out over (:class:`ParentKind`): keys, partitions and progress follow from it.
        folder_table: for an entity read folder by folder (a delta stream per folder, ``{folder_id}`` in its path),
            the table of those folders: its folder delta lists them, and a run reading both asks it once
            (:mod:`o365_pipeline.graph.folder_feed`).
        descriptions: what a stored property (``id``, a key of ``columns`` or ``layout``) means in this table where
            it differs from the meaning every table shares (``PROPERTIES`` in :mod:`.entity_columns`); they reach the
            Dagster UI and the dbt sources file.
        list_keys: list properties whose entries keep only these keys (credentials: their ids and dates, never
            key bytes, secret text or hints, which Graph returns for a single object asked with ``$select``).
        row_key: for a ``snapshot`` entity, the column naming a row within one refresh date (ids are
            ``<refresh date>/<row_key>``).
        filter: a ``$filter`` every request of a list reader sends (``type eq 'seriesMaster'``: one kind of a
            collection that holds several).
    """

    name: str
    path: str
    workload: str
    strategy: Strategy
    permission: str
    probe: str
    description: str
    select: tuple[str, ...] = ()
    columns: Mapping[str, DataType] = field(default_factory=dict)
    item_path: str | None = None
    reader: ReaderName = "directory_delta"
    cursor: str | None = None
    page_size: int | None = None
    page_size_by: PageSizeBy = "top"
    layout: Mapping[str, DataType] = field(default_factory=dict)
    parent: str | None = None
    parent_column: str | None = None
    over: ParentKind = TENANT
    folder_table: str | None = None
    descriptions: Mapping[str, str] = field(default_factory=dict)
    list_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    row_key: str | None = None
    filter: str | None = None

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The raw table's primary key: ``(user_id, id)`` per mailbox, else ``(id,)``."""
        return self.over.key_columns

    @property
    def per_user(self) -> bool:
        """Whether it is read mailbox by mailbox (its rows carry ``user_id``)."""
        return self.over is MAILBOX

    @property
    def progress_unit(self) -> str | None:
        """What progress lines count its parents in (``mailboxes``, ``groups``...), ``None`` when not counted."""
        return self.over.unit

    @property
    def outlook(self) -> bool:
        """Whether it is read from Outlook (mail, calendar, contacts of a mailbox): its requests ask for the
        database's Outlook id type (:mod:`.id_types`), and switching that type rebuilds its table."""
        return self.over is MAILBOX and self.workload in OUTLOOK_WORKLOADS

    @property
    def per_folder(self) -> bool:
        """Whether it is read folder by folder (a delta stream per mail or contact folder)."""
        return self.folder_table is not None


ATTACHMENT_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "name": "text",
    "contentType": "text",
    "size": "bigint",
    "isInline": "bool",
    "lastModifiedDateTime": "timestamp",
}

USER_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "displayName": "text",
    "givenName": "text",
    "surname": "text",
    "userPrincipalName": "text",
    "mail": "text",
    "jobTitle": "text",
    "department": "text",
    "officeLocation": "text",
    "companyName": "text",
    "usageLocation": "text",
    "mobilePhone": "text",
    "accountEnabled": "bool",
    "userType": "text",
    "createdDateTime": "timestamp",
}

# ---- entra apps: columns ------------------------------------------------------------------------------
# Secrets and certificates as JSON lists (one column each, always there: a dlt child table would be missing until
# some row had an entry), their entries cut to CREDENTIAL_KEYS: never key bytes, secret text or hints.
CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    "passwordCredentials": ("keyId", "displayName", "startDateTime", "endDateTime"),
    "keyCredentials": ("keyId", "displayName", "startDateTime", "endDateTime", "type", "usage"),
}
APPLICATION_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "appId": "text",
    "displayName": "text",
    "signInAudience": "text",
    "publisherDomain": "text",
    "createdDateTime": "timestamp",
    "passwordCredentials": "json",
    "keyCredentials": "json",
}
SERVICE_PRINCIPAL_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "appId": "text",
    "displayName": "text",
    "servicePrincipalType": "text",
    "appOwnerOrganizationId": "text",
    "accountEnabled": "bool",
    "passwordCredentials": "json",
    "keyCredentials": "json",
}
DEVICE_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "deviceId": "text",
    "displayName": "text",
    "operatingSystem": "text",
    "operatingSystemVersion": "text",
    "accountEnabled": "bool",
    "trustType": "text",
    "isCompliant": "bool",
    "isManaged": "bool",
    "deviceOwnership": "text",
    "manufacturer": "text",
    "model": "text",
    "registrationDateTime": "timestamp",
    "approximateLastSignInDateTime": "timestamp",
}

# a chatMessage's scalar properties; its sender and lists as JSON (the body is flattened: body__content)
CHANNEL_MESSAGE_COLUMNS: dict[str, DataType] = {
    "team_id": "text",
    "channel_id": "text",
    "replyToId": "text",
    "etag": "text",
    "messageType": "text",
    "createdDateTime": "timestamp",
    "lastModifiedDateTime": "timestamp",
    "lastEditedDateTime": "timestamp",
    "subject": "text",
    "summary": "text",
    "importance": "text",
    "locale": "text",
    "webUrl": "text",
    "from": "json",
    "eventDetail": "json",
    "attachments": "json",
    "mentions": "json",
    "reactions": "json",
    "messageHistory": "json",
}

# application permissions Microsoft grants only after its protected-API request form (Teams messages): without
# that approval Graph answers 403 although the permission is consented
PROTECTED_PERMISSIONS = frozenset({"ChannelMessage.Read.All"})

# an aadUserConversationMember (team or channel membership)
MEMBER_COLUMNS: dict[str, DataType] = {
    "team_id": "text",
    "userId": "text",
    "displayName": "text",
    "email": "text",
    "roles": "json",
    "tenantId": "text",
    "visibleHistoryStartDateTime": "text",  # 0001-01-01T00:00:00Z (all history) is out of a timestamp's range
}

# a recurring series' master event: the properties its occurrences share (series_master_id links them)
SERIES_MASTER_COLUMNS: dict[str, DataType] = {
    "subject": "text",
    "type": "text",
    "isAllDay": "bool",
    "isCancelled": "bool",
    "isOnlineMeeting": "bool",
    "showAs": "text",
    "iCalUId": "text",
    "sensitivity": "text",
    "importance": "text",
}

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        # ---- directory -------------------------------------------------------------------------------
        Entity(
            name="users",
            path="users/delta",
            workload="directory",
            strategy="delta",
            reader="directory_delta",
            permission="User.Read.All",
            probe="users?$top=1&$select=id",
            description="Every user of the tenant (members and guests), from users/delta.",
            columns=USER_COLUMNS,
            select=(*USER_COLUMNS, "businessPhones", "assignedLicenses"),
            item_path="users/{id}",
            page_size=999,
            descriptions={"id": "Graph's user id (a GUID), the same in every table that points at a user."},
        ),
        Entity(
            name="groups",
            path="groups/delta",
            workload="directory",
            strategy="delta",
            reader="directory_delta",
            permission="Group.Read.All",
            probe="groups?$top=1&$select=id",
            description="Every group (Microsoft 365, security, distribution), from groups/delta.",
            columns={
                "displayName": "text",
                "description": "text",
                "mail": "text",
                "mailEnabled": "bool",
                "securityEnabled": "bool",
                "visibility": "text",
                "createdDateTime": "timestamp",
            },
            select=(
                "id",
                "displayName",
                "description",
                "mail",
                "mailEnabled",
                "securityEnabled",
                "visibility",
                "createdDateTime",
                "groupTypes",
                "resourceProvisioningOptions",
            ),
            item_path="groups/{id}",
            page_size=999,
            descriptions={
                "id": "Graph's group id (a GUID).",
                "displayName": "Name of the group as members see it.",
                "description": "What the group is for, as its owners wrote it.",
            },
        ),
        Entity(
            name="group_members",
            path="groups/delta",
            workload="directory",
            strategy="delta",
            reader="members_delta",
            permission="GroupMember.Read.All",
            probe="groups?$top=1&$select=id&$expand=members($select=id)",
            description="Direct group memberships (id = group_id/member_id), from members@delta of groups/delta.",
            columns={"groupId": "text", "memberId": "text", "memberType": "text"},
            select=("members",),
            page_size=999,
            descriptions={"id": "group id/member id: one row per direct membership."},
        ),
        Entity(
            name="organization",
            path="organization",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="Organization.Read.All",
            probe="organization?$select=id",
            description="The tenant itself: name, verified domains, country.",
        ),
        Entity(
            name="subscribed_skus",
            path="subscribedSkus",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="Organization.Read.All",
            probe="subscribedSkus?$select=id",
            description="Licences the tenant bought (SKUs) with enabled and consumed units.",
        ),
        # ---- entra governance: owners, roles, Conditional Access, MFA registration (entra-access) ------
        Entity(
            name="group_owners",
            path="groups/delta",
            workload="directory",
            strategy="delta",
            reader="members_delta",
            permission="GroupMember.Read.All",
            probe="groups?$top=1&$select=id",
            description="Owners of every group (id = group_id/owner_id), from owners@delta of groups/delta.",
            columns={"groupId": "text", "ownerId": "text", "ownerType": "text"},
            select=("owners",),
            page_size=999,
            descriptions={
                "id": "group id/owner id: one row per owner of a group.",
                "groupId": "The group owned (groups.id).",
            },
        ),
        Entity(
            name="directory_roles",
            path="roleManagement/directory/roleDefinitions",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="RoleManagement.Read.Directory",
            probe="roleManagement/directory/roleDefinitions?$select=id",
            description="Entra directory roles (built-in and custom role definitions), from the unified RBAC API.",
            columns={
                "displayName": "text",
                "description": "text",
                "isBuiltIn": "bool",
                "isEnabled": "bool",
                "templateId": "text",
                "version": "text",
                "rolePermissions": "json",
            },
            select=(
                "id",
                "displayName",
                "description",
                "isBuiltIn",
                "isEnabled",
                "templateId",
                "version",
                "rolePermissions",
            ),
            descriptions={
                "id": "The role definition's id: for a built-in role its template id, the same in every tenant.",
                "displayName": "Name of the role, e.g. Global Administrator.",
                "description": "What the role may do, in Microsoft's words (or the tenant's, for a custom role).",
            },
        ),
        Entity(
            name="directory_role_members",
            path="roleManagement/directory/roleAssignments",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="RoleManagement.Read.Directory",
            probe="roleManagement/directory/roleAssignments?$select=id",
            description="Who holds which directory role over what scope (role assignments of the unified RBAC API).",
            columns={
                "principalId": "text",
                "roleDefinitionId": "text",
                "directoryScopeId": "text",
                "appScopeId": "text",
            },
            select=("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"),
            descriptions={"id": "Graph's id of the role assignment."},
        ),
        Entity(
            name="conditional_access_policies",
            path="identity/conditionalAccess/policies",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="Policy.Read.All",
            probe="identity/conditionalAccess/policies?$select=id",
            description="Conditional Access policies: who and what each covers, and the controls it demands.",
            columns={
                "displayName": "text",
                "state": "text",
                "createdDateTime": "timestamp",
                "modifiedDateTime": "timestamp",
                "templateId": "text",
                "conditions": "json",
                "grantControls": "json",
                "sessionControls": "json",
            },
            select=(
                "id",
                "displayName",
                "state",
                "createdDateTime",
                "modifiedDateTime",
                "templateId",
                "conditions",
                "grantControls",
                "sessionControls",
            ),
            descriptions={
                "id": "Graph's id of the policy (the id sign-ins name in their applied policies).",
                "displayName": "Name of the policy as admins see it.",
                "createdDateTime": "When the policy was created (UTC).",
                "templateId": "The Microsoft template it was created from, if any.",
            },
        ),
        Entity(
            name="user_registration_details",
            path="reports/authenticationMethods/userRegistrationDetails",
            workload="directory",
            strategy="replace",
            reader="list",
            permission="AuditLog.Read.All",
            probe="reports/authenticationMethods/userRegistrationDetails",
            description="Each user's registered authentication methods (MFA, self-service password reset), "
            "from the authentication methods report.",
            # the report takes no $select and no $top (its docs: only $filter and $orderby)
            columns={
                "userPrincipalName": "text",
                "userDisplayName": "text",
                "userType": "text",
                "isAdmin": "bool",
                "isMfaRegistered": "bool",
                "isMfaCapable": "bool",
                "isSsprRegistered": "bool",
                "isSsprEnabled": "bool",
                "isSsprCapable": "bool",
                "isPasswordlessCapable": "bool",
                "isSystemPreferredAuthenticationMethodEnabled": "bool",
                "userPreferredMethodForSecondaryAuthentication": "text",
                "lastUpdatedDateTime": "timestamp",
                "methodsRegistered": "json",
                "systemPreferredAuthenticationMethods": "json",
            },
            descriptions={
                "id": "The user (users.id).",
                "userPrincipalName": "The user's sign-in name.",
                "userDisplayName": "Name of the user as Microsoft 365 shows it.",
                "userType": "member or guest (lower case in this report).",
            },
        ),
        # ---- entra apps --------------------------------------------------------------------------------
        Entity(
            name="applications",
            path="applications/delta",
            workload="directory",
            strategy="delta",
            reader="directory_delta",
            permission="Application.Read.All",
            probe="applications?$top=1&$select=id",
            description="App registrations of the tenant with their client secrets and certificates (dates and ids "
            "only), from applications/delta.",
            columns=APPLICATION_COLUMNS,
            select=tuple(APPLICATION_COLUMNS),
            item_path="applications/{id}",
            descriptions={
                "id": "Object id of the app registration (a GUID; not the client id).",
                "appId": "Application (client) id: what the app signs in with; its service principals carry the same.",
                "displayName": "Name of the app registration.",
                "createdDateTime": "When the app was registered (UTC).",
            },
            page_size=999,
            list_keys=CREDENTIAL_KEYS,
        ),
        Entity(
            name="service_principals",
            path="servicePrincipals/delta",
            workload="directory",
            strategy="delta",
            reader="directory_delta",
            permission="Application.Read.All",
            probe="servicePrincipals?$top=1&$select=id",
            description="Service principals (enterprise apps: this tenant's own apps and those of other publishers) "
            "with their secrets and certificates (dates and ids only), from servicePrincipals/delta.",
            columns=SERVICE_PRINCIPAL_COLUMNS,
            select=tuple(SERVICE_PRINCIPAL_COLUMNS),
            item_path="servicePrincipals/{id}",
            descriptions={
                "id": "Object id of the service principal (a GUID).",
                "appId": "Application (client) id of the app it is an instance of (applications.app_id for this "
                "tenant's own apps).",
                "displayName": "Name of the enterprise app.",
                "accountEnabled": "Whether the app can sign in and get tokens (false: disabled in Enterprise apps).",
            },
            page_size=999,
            list_keys=CREDENTIAL_KEYS,
        ),
        Entity(
            name="devices",
            path="devices/delta",
            workload="directory",
            strategy="delta",
            reader="directory_delta",
            permission="Device.Read.All",
            probe="devices?$top=1&$select=id",
            description="Devices registered or joined to Entra ID, from devices/delta.",
            columns=DEVICE_COLUMNS,
            select=tuple(DEVICE_COLUMNS),
            item_path="devices/{id}",
            descriptions={
                "id": "Object id of the device in Entra ID (a GUID).",
                "displayName": "Host name of the device (DESKTOP-1234), as its owner or the join set it.",
                "accountEnabled": "Whether the device may authenticate (false: disabled by an admin).",
            },
            page_size=999,
        ),
        # ---- mail ------------------------------------------------------------------------------------
        Entity(
            name="mail_folders",
            path="users/{user_id}/mailFolders/delta",
            workload="mail",
            strategy="delta",
            reader="mailbox_delta",
            over=MAILBOX,
            permission="Mail.ReadBasic.All",
            probe="users/{user_id}/mailFolders?$top=1&$select=id",
            description="Mail folders of every mailbox (child folders included), from mailFolders/delta.",
            columns={"displayName": "text", "parentFolderId": "text", "totalItemCount": "bigint"},
            layout={
                "user_id": "text",
                "childFolderCount": "bigint",
                "unreadItemCount": "bigint",
                "isHidden": "bool",
            },
            descriptions={"displayName": "Folder name (Inbox, Sent Items, or the user's own)."},
        ),
        Entity(
            name="messages",
            path="users/{user_id}/mailFolders/{folder_id}/messages/delta",
            workload="mail",
            strategy="delta",
            reader="messages_delta",
            over=MAILBOX,
            folder_table="mail_folders",
            permission="Mail.ReadBasic.All",
            probe="users/{user_id}/messages?$top=1&$select=id",
            description="Messages of every mailbox folder (metadata, no body), from per-folder messages/delta.",
            columns={
                "subject": "text",
                "receivedDateTime": "timestamp",
                "sentDateTime": "timestamp",
                "hasAttachments": "bool",
                "importance": "text",
                "isRead": "bool",
                "isDraft": "bool",
                "parentFolderId": "text",
                "conversationId": "text",
                "internetMessageId": "text",
            },
            select=(
                "id",
                "subject",
                "from",
                "sender",
                "toRecipients",
                "ccRecipients",
                "receivedDateTime",
                "sentDateTime",
                "hasAttachments",
                "importance",
                "isRead",
                "isDraft",
                "parentFolderId",
                "conversationId",
                "internetMessageId",
                "bodyPreview",
                "categories",
                "flag",
                "lastModifiedDateTime",
            ),
            page_size=1000,
            page_size_by="prefer",
            layout={
                "user_id": "text",
                "bodyPreview": "text",
                "lastModifiedDateTime": "timestamp",
                "from.emailAddress": "json",
                "sender.emailAddress": "json",
                "flag.flagStatus": "text",
                "toRecipients": "json",
                "ccRecipients": "json",
                "categories": "json",
            },
        ),
        Entity(
            name="message_attachments",
            path="users/{user_id}/messages/{message_id}/attachments",
            workload="mail",
            strategy="delta",
            reader="attachments",
            over=MAILBOX,
            permission="Mail.Read",
            probe="users/{user_id}/messages?$top=1&$select=id",
            description="Attachment metadata (name, type, size, inline) of every message that has attachments.",
            columns=ATTACHMENT_COLUMNS,
            select=tuple(ATTACHMENT_COLUMNS),
            layout={"user_id": "text", "message_id": "text"},
            parent="messages",
            parent_column="message_id",
            descriptions={"size": "Size of the attachment in bytes (what it adds to the mailbox)."},
        ),
        # ---- calendar --------------------------------------------------------------------------------
        Entity(
            name="calendars",
            path="users/{user_id}/calendars",
            workload="calendar",
            strategy="replace",
            reader="mailbox_list",
            over=MAILBOX,
            permission="Calendars.Read",
            probe="users/{user_id}/calendars?$top=1&$select=id",
            description="Calendars of every mailbox.",
            page_size=1000,
        ),
        Entity(
            name="events",
            path="users/{user_id}/calendarView/delta",
            workload="calendar",
            strategy="delta",
            reader="calendar_view_delta",
            over=MAILBOX,
            permission="Calendars.Read",
            probe="users/{user_id}/events?$top=1&$select=id",
            description="Events of every primary calendar in the sync window (recurring series expanded), "
            "from calendarView/delta.",
            columns={
                "subject": "text",
                "type": "text",
                "isAllDay": "bool",
                "isCancelled": "bool",
                "isOnlineMeeting": "bool",
                "hasAttachments": "bool",
                "seriesMasterId": "text",
                "showAs": "text",
            },
            page_size=1000,
            page_size_by="prefer",
            layout={
                "user_id": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "changeKey": "text",
                "originalStartTimeZone": "text",
                "originalEndTimeZone": "text",
                "iCalUId": "text",
                "reminderMinutesBeforeStart": "bigint",
                "isReminderOn": "bool",
                "bodyPreview": "text",
                "importance": "text",
                "sensitivity": "text",
                "isOrganizer": "bool",
                "responseRequested": "bool",
                "webLink": "text",
                "onlineMeetingUrl": "text",
                "organizer.emailAddress": "json",
                "location.displayName": "text",
                "location.locationType": "text",
                "location.locationEmailAddress": "text",
                "start.dateTime": "timestamp",
                "start.timeZone": "text",
                "end.dateTime": "timestamp",
                "end.timeZone": "text",
                "body.contentType": "text",
                "body.content": "text",
                "responseStatus.response": "text",
                "responseStatus.time": "timestamp",
                "attendees": "json",
                "categories": "json",
            },
        ),
        Entity(
            name="event_attachments",
            path="users/{user_id}/events/{event_id}/attachments",
            workload="calendar",
            strategy="delta",
            reader="attachments",
            over=MAILBOX,
            permission="Calendars.Read",
            probe="users/{user_id}/events?$top=1&$select=id",
            description="Attachment metadata of every event in the sync window that has attachments.",
            columns=ATTACHMENT_COLUMNS,
            select=tuple(ATTACHMENT_COLUMNS),
            layout={"user_id": "text", "event_id": "text"},
            parent="events",
            parent_column="event_id",
            descriptions={"size": "Size of the attachment in bytes."},
        ),
        Entity(
            name="event_series_masters",
            path="users/{user_id}/events",
            workload="calendar",
            strategy="replace",
            reader="mailbox_list",
            over=MAILBOX,
            filter="type eq 'seriesMaster'",
            permission="Calendars.Read",
            probe="users/{user_id}/events?$top=1&$select=id",
            description="Recurring series (their seriesMaster events, with the recurrence pattern and range) of every "
            "primary calendar, also those outside the sync window; events link to them by series_master_id.",
            descriptions={
                "id": "Graph's id of the series master; events of the series carry it as seriesMasterId.",
                "type": "Always seriesMaster.",
                "start.dateTime": "Start of the series' first occurrence (UTC).",
                "end.dateTime": "End of the series' first occurrence (UTC).",
                "iCalUId": "iCalendar UID of the series (each occurrence has its own).",
                "importance": "low, normal or high, as the organizer set it.",
            },
            columns=SERIES_MASTER_COLUMNS,
            select=(*SERIES_MASTER_COLUMNS, "start", "end", "recurrence", "organizer", "location", "attendees"),
            page_size=1000,
            layout={
                "user_id": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "organizer.emailAddress": "json",
                "location.displayName": "text",
                "location.locationEmailAddress": "text",
                "start.dateTime": "timestamp",
                "start.timeZone": "text",
                "end.dateTime": "timestamp",
                "end.timeZone": "text",
                "recurrence.pattern": "json",
                "recurrence.range": "json",
                "attendees": "json",
            },
        ),
        # ---- contacts --------------------------------------------------------------------------------
        Entity(
            name="contact_folders",
            path="users/{user_id}/contactFolders/delta",
            workload="contacts",
            strategy="delta",
            reader="mailbox_delta",
            over=MAILBOX,
            permission="Contacts.Read",
            probe="users/{user_id}/contactFolders?$top=1&$select=id",
            description="Contact folders of every mailbox, from contactFolders/delta.",
            columns={"displayName": "text", "parentFolderId": "text"},
            descriptions={"displayName": "Folder name (Contacts, or the user's own)."},
        ),
        Entity(
            name="contacts",
            path="users/{user_id}/contactFolders/{folder_id}/contacts/delta",
            workload="contacts",
            strategy="delta",
            reader="contacts_delta",
            over=MAILBOX,
            folder_table="contact_folders",
            permission="Contacts.Read",
            probe="users/{user_id}/contacts?$top=1&$select=id",
            description="Contacts of every contact folder (the default one included), from per-folder delta.",
            columns={
                "displayName": "text",
                "givenName": "text",
                "surname": "text",
                "companyName": "text",
                "jobTitle": "text",
                "parentFolderId": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
            },
            layout={
                "user_id": "text",
                "middleName": "text",
                "nickName": "text",
                "initials": "text",
                "title": "text",
                "fileAs": "text",
                "department": "text",
                "officeLocation": "text",
                "businessHomePage": "text",
                "personalNotes": "text",
                "mobilePhone": "text",
                "birthday": "timestamp",
                "changeKey": "text",
                "emailAddresses": "json",
                "businessPhones": "json",
                "homePhones": "json",
                "categories": "json",
                "homeAddress": "json",
                "businessAddress": "json",
                "otherAddress": "json",
            },
            descriptions={"displayName": "Name of the contact as shown in Outlook."},
        ),
        # ---- files -----------------------------------------------------------------------------------
        Entity(
            name="drive_items",
            path="users/{user_id}/drive/root/delta",
            workload="files",
            strategy="delta",
            reader="drive_delta",
            over=MAILBOX,
            permission="Files.Read.All",
            probe="users/{user_id}/drive?$select=id",
            description="Files and folders of every user's OneDrive, from drive root delta.",
            columns={
                "name": "text",
                "size": "bigint",
                "webUrl": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
            },
            page_size=1000,
            layout={
                "user_id": "text",
                "eTag": "text",
                "createdBy.user": "json",
                "lastModifiedBy.user": "json",
                "parentReference.id": "text",
                "parentReference.driveId": "text",
                "parentReference.driveType": "text",
                "fileSystemInfo.createdDateTime": "timestamp",
                "fileSystemInfo.lastModifiedDateTime": "timestamp",
                "folder.childCount": "bigint",
                "file.mimeType": "text",
                "file.hashes": "json",
                "shared.owner": "json",
                "shared.scope": "text",
            },
            descriptions={
                "name": "File or folder name.",
                "size": "Bytes of the file, or of everything below a folder: storage used.",
                "createdDateTime": "When it was uploaded or created in OneDrive (UTC).",
            },
        ),
        # ---- planner, groups, teams -------------------------------------------------------------------
        Entity(
            name="planner_plans",
            path="groups/{group_id}/planner/plans",
            workload="planner",
            strategy="replace",
            reader="parent_list",
            over=GROUP,
            permission="Tasks.Read.All",
            probe="groups?$top=1&$select=id",
            description="Planner plans of every Microsoft 365 group.",
            columns={"title": "text", "createdDateTime": "timestamp"},
            descriptions={"title": "Name of the plan."},
        ),
        Entity(
            name="planner_tasks",
            path="planner/plans/{plan_id}/tasks",
            workload="planner",
            strategy="replace",
            reader="parent_list",
            over=PLAN,
            permission="Tasks.Read.All",
            probe="groups?$top=1&$select=id",
            description="Tasks of every Planner plan.",
            columns={
                "title": "text",
                "planId": "text",
                "bucketId": "text",
                "percentComplete": "bigint",
                "priority": "bigint",
                "dueDateTime": "timestamp",
                "completedDateTime": "timestamp",
                "createdDateTime": "timestamp",
                # open types keyed by user id / category name: flattened, they made a column per assignee
                # (2,510 columns at 5,000 users, which DuckDB could not insert within its memory limit)
                "assignments": "json",
                "appliedCategories": "json",
            },
            descriptions={
                "title": "What the task says to do.",
                "assignments": "Who the task is assigned to: JSON object keyed by user id (when and by whom assigned).",
                "appliedCategories": "Labels set on the task: JSON object keyed by category name (category1...25).",
            },
        ),
        Entity(
            name="group_conversations",
            path="groups/{group_id}/conversations",
            workload="teams",
            strategy="replace",
            reader="parent_list",
            over=GROUP,
            permission="Group.Read.All",
            probe="groups?$top=1&$select=id",
            description="Conversations of every Microsoft 365 group's mailbox.",
            columns={"topic": "text", "hasAttachments": "bool", "lastDeliveredDateTime": "timestamp"},
        ),
        Entity(
            name="teams",
            path="teams",
            workload="teams",
            strategy="replace",
            reader="list",
            permission="Team.ReadBasic.All",
            probe="teams?$top=1",
            description="Every team (Teams-enabled Microsoft 365 group).",
            columns={"displayName": "text", "description": "text", "visibility": "text"},
            descriptions={
                "displayName": "Name members see for the team in Teams.",
                "description": "What the team is for.",
            },
        ),
        Entity(
            name="channels",
            path="teams/{team_id}/channels",
            workload="teams",
            strategy="replace",
            reader="parent_list",
            over=TEAM,
            permission="Channel.ReadBasic.All",
            probe="teams?$top=1",
            description="Channels of every team.",
            columns={"displayName": "text", "description": "text", "membershipType": "text"},
            descriptions={
                "displayName": "Name members see for the channel in its team.",
                "description": "What the channel is for.",
            },
        ),
        # ---- teams messages and members ---------------------------------------------------------------
        Entity(
            name="channel_messages",
            path="teams/{team_id}/channels/{channel_id}/messages/delta",
            workload="teams",
            strategy="delta",
            reader="channel_messages_delta",
            over=CHANNEL,
            permission="ChannelMessage.Read.All",
            probe="teams/{team_id}/channels/{channel_id}/messages?$top=1",
            description="Top-level messages of every channel (no replies), from per-channel messages/delta; "
            "a message deleted in Teams leaves the table.",
            columns=CHANNEL_MESSAGE_COLUMNS,
            page_size=50,
            descriptions={
                "id": "Graph's message id (its creation time in epoch milliseconds): unique within its channel only.",
                "importance": "Sender's importance flag: normal, high or urgent.",
                "subject": "Subject line of the post (top-level channel messages only; often empty).",
                "createdDateTime": "When it was posted (UTC).",
                "lastModifiedDateTime": "When it last changed (UTC): edits and reactions included.",
            },
        ),
        Entity(
            name="channel_message_replies",
            path="teams/{team_id}/channels/{channel_id}/messages/delta",
            workload="teams",
            strategy="delta",
            reader="channel_replies_delta",
            over=CHANNEL,
            permission="ChannelMessage.Read.All",
            probe="teams/{team_id}/channels/{channel_id}/messages?$top=1",
            description="Replies to every channel message, from per-channel messages/delta with $expand=replies "
            "(the replies of each message whose reply chain changed).",
            columns={**CHANNEL_MESSAGE_COLUMNS, "message_id": "text"},
            page_size=50,
            descriptions={
                "id": "Graph's reply id (its creation time in epoch milliseconds): unique within its channel only.",
                "message_id": "The top-level message (channel_messages.id, same channel) it replies to.",
                "importance": "Sender's importance flag: normal, high or urgent.",
                "subject": "Always empty for a reply (subjects are on top-level messages).",
                "createdDateTime": "When it was posted (UTC).",
                "lastModifiedDateTime": "When it last changed (UTC): edits and reactions included.",
            },
        ),
        Entity(
            name="team_members",
            path="teams/{team_id}/members",
            workload="teams",
            strategy="replace",
            reader="parent_list",
            over=TEAM,
            permission="TeamMember.Read.All",
            probe="teams/{team_id}/members",
            description="Members of every team with their roles (owner, guest), from teams/{id}/members.",
            columns=MEMBER_COLUMNS,
            descriptions={
                "id": "Graph's membership id (opaque: one per team and user).",
                "userId": "The member's user id (users.id).",
                "displayName": "The member's name.",
                "email": "The member's mail address.",
            },
        ),
        Entity(
            name="channel_members",
            path="teams/{team_id}/channels/{channel_id}/members",
            workload="teams",
            strategy="replace",
            reader="channel_list",
            over=CHANNEL,
            permission="ChannelMember.Read.All",
            probe="teams/{team_id}/channels/{channel_id}/members",
            description="Members of every channel with their roles; private and shared channels have their own.",
            columns={**MEMBER_COLUMNS, "channel_id": "text"},
            descriptions={
                "id": "Graph's membership id (opaque: one per channel and user).",
                "userId": "The member's user id (users.id).",
                "displayName": "The member's name.",
                "email": "The member's mail address.",
            },
        ),
        # ---- bookings --------------------------------------------------------------------------------
        Entity(
            name="booking_businesses",
            path="solutions/bookingBusinesses",
            workload="bookings",
            strategy="replace",
            reader="list",
            permission="Bookings.Read.All",
            probe="solutions/bookingBusinesses",
            description="Microsoft Bookings businesses.",
            columns={"displayName": "text", "businessType": "text", "email": "text"},
            descriptions={"displayName": "Name customers see for the business."},
        ),
        *(
            Entity(
                name=f"booking_{name}",
                path=f"solutions/bookingBusinesses/{{business_id}}/{path}",
                workload="bookings",
                strategy="replace",
                reader="parent_list",
                over=BUSINESS,
                permission="Bookings.Read.All",
                probe="solutions/bookingBusinesses",
                description=f"Bookings {label} of every business.",
            )
            for name, path, label in (
                ("appointments", "appointments", "appointments"),
                ("customers", "customers", "customers"),
                ("services", "services", "services"),
                ("staff_members", "staffMembers", "staff members"),
                ("custom_questions", "customQuestions", "custom questions"),
            )
        ),
        # ---- sharepoint ------------------------------------------------------------------------------
        Entity(
            name="sites",
            path="sites/getAllSites",
            workload="sharepoint",
            strategy="replace",
            reader="sites",
            permission="Sites.Read.All",
            probe="sites/{site_id}?$select=id",
            description="Every site of the tenant (communication sites, group team sites and users' OneDrive "
            "sites, isPersonalSite), from sites/getAllSites; with Sites.Selected, the sites named in O365_SITES.",
            descriptions={
                "id": "Graph's site id: hostname,site collection id,web id.",
                "name": "URL name of the site (the last segment of its address; empty for the root site).",
                "displayName": "Title of the site as its members see it.",
            },
            columns={
                "name": "text",
                "displayName": "text",
                "description": "text",
                "webUrl": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "isPersonalSite": "bool",
                "root": "json",
            },
        ),
        Entity(
            name="site_lists",
            path="sites/{site_id}/lists",
            workload="sharepoint",
            strategy="replace",
            reader="site_list",
            over=SITE,
            permission="Sites.Read.All",
            probe="sites/{site_id}/lists?$top=1&$select=id",
            description="Lists and document libraries of every site.",
            descriptions={"id": "Graph's list id (a GUID).", "name": "Name of the list or library in its URL."},
            columns={
                "site_id": "text",
                "name": "text",
                "displayName": "text",
                "description": "text",
                "webUrl": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "list": "json",
            },
        ),
        Entity(
            name="list_items",
            path="sites/{site_id}/lists/{list_id}/items/delta",
            workload="sharepoint",
            strategy="delta",
            reader="list_items_delta",
            over=SITE,
            permission="Sites.Read.All",
            probe="sites/{site_id}/lists?$top=1&$select=id",
            description="Items of every list (document libraries' files are library_items) with their fields, "
            "from per-list items/delta (id = list_id/item_id).",
            descriptions={"id": "list id/item id: one row per list item."},
            columns={
                "site_id": "text",
                "list_id": "text",
                "item_id": "text",
                "webUrl": "text",
                "eTag": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "fields": "json",
            },
        ),
        Entity(
            name="site_drives",
            path="sites/{site_id}/drives",
            workload="sharepoint",
            strategy="replace",
            reader="site_drives",
            over=SITE,
            permission="Sites.Read.All",
            probe="sites/{site_id}/drives?$select=id",
            description="Document libraries (drives) of every site and of every Microsoft 365 group "
            "(groups/{id}/drive), with their quota.",
            descriptions={"id": "Graph's drive id (b!...).", "name": "Name of the library (Documents, ...)."},
            columns={
                "site_id": "text",
                "group_id": "text",
                "name": "text",
                "driveType": "text",
                "webUrl": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "quota": "json",
                "owner": "json",
            },
        ),
        Entity(
            name="library_items",
            path="drives/{drive_id}/root/delta",
            workload="sharepoint",
            strategy="delta",
            reader="library_delta",
            over=DRIVE,
            permission="Sites.Read.All",
            probe="sites/{site_id}/drives?$select=id",
            description="Files and folders of every site and group document library, from drive root delta "
            "(id = drive_id/item_id).",
            descriptions={
                "id": "drive id/item id: one row per file or folder.",
                "name": "File or folder name.",
                "size": "Bytes of the file; for a folder, of everything below it.",
            },
            columns={
                "drive_id": "text",
                "item_id": "text",
                "name": "text",
                "size": "bigint",
                "webUrl": "text",
                "createdDateTime": "timestamp",
                "lastModifiedDateTime": "timestamp",
                "file": "json",
                "folder": "json",
            },
            page_size=1000,
        ),
        # ---- places (rooms and room lists) -----------------------------------------------------------
        Entity(
            name="rooms",
            path="places/microsoft.graph.room",
            workload="places",
            strategy="replace",
            reader="list",
            permission="Place.Read.All",
            probe="places/microsoft.graph.room?$top=1",
            description="Meeting rooms (room resource mailboxes): address, capacity, building, floor, devices, from "
            "the places API.",
            descriptions={"displayName": "Name of the room as Outlook's room finder shows it."},
            columns={
                "emailAddress": "text",
                "displayName": "text",
                "capacity": "bigint",
                "building": "text",
                "floorNumber": "bigint",
                "floorLabel": "text",
                "label": "text",
                "nickname": "text",
                "phone": "text",
                "isWheelChairAccessible": "bool",
                "bookingType": "text",
                "audioDeviceName": "text",
                "videoDeviceName": "text",
                "displayDeviceName": "text",
                "address": "json",
                "geoCoordinates": "json",
                "tags": "json",
            },
        ),
        Entity(
            name="room_lists",
            path="places/microsoft.graph.roomlist",
            workload="places",
            strategy="replace",
            reader="list",
            permission="Place.Read.All",
            probe="places/microsoft.graph.roomlist?$top=1",
            description="Room lists (the buildings or areas Outlook's room finder groups rooms by), from the places "
            "API.",
            descriptions={"displayName": "Name of the room list (usually a building or an area)."},
            columns={"emailAddress": "text", "displayName": "text", "phone": "text", "address": "json"},
        ),
        # ---- audit -----------------------------------------------------------------------------------
        Entity(
            name="directory_audits",
            path="auditLogs/directoryAudits",
            workload="audit",
            strategy="cursor",
            reader="date_cursor",
            cursor="activityDateTime",
            permission="AuditLog.Read.All",
            probe="auditLogs/directoryAudits?$top=1",
            description="Directory audit log (30 days kept by Entra), read by activityDateTime cursor.",
            columns={
                "activityDateTime": "timestamp",
                "activityDisplayName": "text",
                "category": "text",
                "result": "text",
                "operationType": "text",
                "loggedByService": "text",
            },
            page_size=1000,
        ),
        Entity(
            name="sign_ins",
            path="auditLogs/signIns",
            workload="audit",
            strategy="cursor",
            reader="date_cursor",
            cursor="createdDateTime",
            permission="AuditLog.Read.All",
            probe="auditLogs/signIns?$top=1",
            description="Sign-in log, read by createdDateTime cursor.",
            columns={
                "createdDateTime": "timestamp",
                "userId": "text",
                "userPrincipalName": "text",
                "appDisplayName": "text",
                "ipAddress": "text",
                "clientAppUsed": "text",
            },
            page_size=1000,
            layout={
                "userDisplayName": "text",
                "appId": "text",
                "correlationId": "text",
                "conditionalAccessStatus": "text",
                "isInteractive": "bool",
                "riskDetail": "text",
                "riskLevelAggregated": "text",
                "riskLevelDuringSignIn": "text",
                "riskState": "text",
                "resourceDisplayName": "text",
                "resourceId": "text",
                "status.errorCode": "bigint",
                "status.failureReason": "text",
                "status.additionalDetails": "text",
                "deviceDetail.deviceId": "text",
                "deviceDetail.displayName": "text",
                "deviceDetail.operatingSystem": "text",
                "deviceDetail.browser": "text",
                "location.city": "text",
                "location.state": "text",
                "location.countryOrRegion": "text",
                "location.geoCoordinates": "json",
                "riskEventTypes_v2": "json",
                "appliedConditionalAccessPolicies": "json",
            },
            descriptions={
                "createdDateTime": "When the sign-in happened (UTC); the incremental cursor.",
                "userPrincipalName": "Sign-in name used.",
            },
        ),
        # ---- usage reports -----------------------------------------------------------------------------
        *(
            Entity(
                name=f"usage_{report}",
                path=f"reports/{function}(period='D7')",  # the period: O365_REPORT_PERIOD
                workload="reports",
                strategy="snapshot",
                reader="report_snapshot",
                row_key=row_key,
                permission="Reports.Read.All",
                probe=f"reports/{function}(period='D7')",  # answers 302 to its download: readable
                description=f"{label} (usage report CSV), one snapshot per report refresh date (O365_REPORT_PERIOD).",
                columns=report_columns(report),
                descriptions=report_descriptions(report),
            )
            for report, function, row_key, label in (
                (
                    "office365_active_user_detail",
                    "getOffice365ActiveUserDetail",
                    "user_principal_name",
                    "Microsoft 365 active users: licences and last activity per workload",
                ),
                (
                    "mailbox_usage_detail",
                    "getMailboxUsageDetail",
                    "user_principal_name",
                    "Mailbox usage per user: items, storage, quotas",
                ),
                (
                    "teams_user_activity_user_detail",
                    "getTeamsUserActivityUserDetail",
                    "user_principal_name",
                    "Teams activity per user: messages, calls, meetings",
                ),
                (
                    "onedrive_usage_account_detail",
                    "getOneDriveUsageAccountDetail",
                    "site_url",
                    "OneDrive usage per account: files, storage",
                ),
                (
                    "sharepoint_site_usage_detail",
                    "getSharePointSiteUsageDetail",
                    "site_id",
                    "SharePoint site usage: files, page views, storage",
                ),
            )
        ),
    )
}


def select_entities(names: tuple[str, ...] | list[str] = ()) -> list[Entity]:
    """The entities to sync: all of them, or the named ones (``O365_ENTITIES``) in table order.

    Raises:
        ValueError: naming ``O365_ENTITIES`` and the valid names when a name is unknown.
    """
    unknown = sorted(set(names) - set(ENTITIES))
    if unknown:
        raise ValueError(
            f"O365_ENTITIES: unknown entit{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"valid: {', '.join(ENTITIES)}"
        )
    return [entity for name, entity in ENTITIES.items() if not names or name in names]


def _path_segments(path: str) -> list[str]:
    """A Graph path's segments after ``/v1.0``, without a trailing delta function (``delta``/``delta()``)."""
    segments = [s for s in path.split("?")[0].split("/") if s and s != "v1.0"]
    return segments[:-1] if segments and segments[-1] in ("delta", "delta()") else segments


def permission_for(path: str, fallback: Entity) -> str:
    """The permission a request path needs: the one of the entity whose collection it is (``users`` for the
    users listing every per-user entity starts from), else ``fallback``'s."""
    asked = _path_segments(path)
    for entity in ENTITIES.values():
        template = _path_segments(entity.path)
        if len(template) == len(asked) and all(
            t == a or t.startswith("{") for t, a in zip(template, asked, strict=True)
        ):
            return entity.permission
    return fallback.permission
