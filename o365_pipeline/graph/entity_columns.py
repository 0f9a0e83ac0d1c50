"""What each raw column means: the column half of the entity catalogue (:mod:`.entities` has the tables).

Descriptions are keyed by the Graph property path an entity declares (``columns``, ``layout``; ``from.emailAddress``)
and shared by every entity where the property means the same; the entity's row says it where it differs
(``Entity.descriptions``). They reach the Dagster UI (the raw assets' column schema) and the dbt sources file
(``_graph__sources.yml``, written from here by ``python -m o365_pipeline.graph.entity_columns``; a test keeps the
two equal).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from dlt.common.normalizers.naming.snake_case import NamingConvention

from .entities import ENTITIES, DataType, Entity

_NAMING = NamingConvention()

PROPERTIES: dict[str, str] = {
    "id": "Graph's id of the item (a GUID or an opaque string); the merge key.",
    "displayName": "Name shown for it in Microsoft 365 apps.",
    "givenName": "First name (the personal one; surname is the family name).",
    "surname": "Last name.",
    "userPrincipalName": "Sign-in name (user@domain), unique in the tenant.",
    "mail": "Primary SMTP address; empty when it has no mailbox or is not mail-enabled.",
    "jobTitle": "Job title from the directory profile.",
    "department": "Department from the directory profile; groups reports by team.",
    "officeLocation": "Office or building from the directory profile.",
    "companyName": "Company the person works for (often the partner's name for guests).",
    "usageLocation": "Two-letter country where the user's licences are used (required to assign one).",
    "mobilePhone": "Mobile number from the profile, e.g. for text-message sign-in help.",
    "accountEnabled": "Whether the account can sign in (false: blocked, e.g. a leaver).",
    "userType": "Member (employee) or Guest (external B2B account).",
    "createdDateTime": "When it was created (UTC).",
    "lastModifiedDateTime": "When it last changed (UTC).",
    "description": "Free-text description its owners wrote.",
    "mailEnabled": "Whether mail sent to the group's address is delivered (Microsoft 365 and distribution groups).",
    "securityEnabled": "Whether the group can be granted access to resources (security groups).",
    "visibility": "Public (anyone in the tenant can join or read) or Private (owners admit members).",
    "groupId": "The group the membership belongs to (groups.id).",
    "memberId": "The member's directory object id (a user, group, device or service principal).",
    "memberType": "What the member is (user, group, device, servicePrincipal, orgContact); nesting shows as group.",
    "parentFolderId": "The folder holding it (its folder table's id); rebuilds the folder tree.",
    "totalItemCount": "Items in the folder, subfolders not counted: mailbox size by folder.",
    "user_id": "The user (users.id) whose mailbox or drive it was read from; with id the key of the table.",
    "childFolderCount": "Direct subfolders of the folder.",
    "unreadItemCount": "Unread items in the folder: a measure of mail backlog.",
    "isHidden": "Whether Outlook hides the folder from the user.",
    "subject": "What the sender typed on its subject line.",
    "receivedDateTime": "When the message arrived in this mailbox (UTC).",
    "sentDateTime": "When the sender sent it (UTC).",
    "hasAttachments": "Whether it has file attachments (inline images not counted); their rows are in the "
    "attachment table.",
    "importance": "Sender's importance flag: low, normal or high.",
    "isRead": "Whether the mailbox owner has opened the message.",
    "isDraft": "Whether the message is an unsent draft.",
    "conversationId": "Thread the message belongs to: counts replies per conversation.",
    "internetMessageId": "The RFC 2822 Message-ID header, the same in every mailbox holding a copy of the message.",
    "bodyPreview": "First 255 characters of the body, as text.",
    "from.emailAddress": "Who the message is from (JSON: name, address); tells sent from received mail.",
    "sender.emailAddress": "Who actually sent it (JSON: name, address); differs from `from` for delegates.",
    "flag.flagStatus": "Follow-up flag: notFlagged, flagged or complete.",
    "toRecipients": "To recipients (JSON list of name and address); the staging model unnests it.",
    "ccRecipients": "Cc recipients (JSON list of name and address); the staging model unnests it.",
    "categories": "Outlook categories the owner applied (JSON list of names).",
    "name": "File name as attached, extension included.",
    "contentType": "MIME type of the file (e.g. application/pdf).",
    "size": "Size in bytes.",
    "isInline": "Whether it is embedded in the body (a signature image) rather than attached.",
    "message_id": "The message it is attached to (messages.id in the same mailbox).",
    "event_id": "The event it is attached to (events.id in the same mailbox).",
    "type": "singleInstance, occurrence or exception of a recurring series, or seriesMaster.",
    "isAllDay": "Whether the event lasts whole days.",
    "isCancelled": "Whether the organizer cancelled it.",
    "isOnlineMeeting": "Whether it has an online meeting (Teams) link.",
    "seriesMasterId": "For an occurrence or exception, the id of its recurring series.",
    "showAs": "How the time shows in free/busy: free, tentative, busy, oof, workingElsewhere.",
    "changeKey": "Version of the item: changes with every edit.",
    "originalStartTimeZone": "Time zone the organizer created the start in.",
    "originalEndTimeZone": "Time zone the organizer created the end in.",
    "iCalUId": "Id shared by every attendee's copy of the event (iCalendar UID): counts meetings once.",
    "reminderMinutesBeforeStart": "How long ahead of the start Outlook pops its reminder, in minutes.",
    "isReminderOn": "Whether a reminder is set.",
    "sensitivity": "normal, personal, private or confidential.",
    "isOrganizer": "Whether the mailbox owner organizes the event (false: invited).",
    "responseRequested": "Whether the organizer asked attendees to respond.",
    "webLink": "URL that opens the event in Outlook on the web.",
    "onlineMeetingUrl": "Join URL of the online meeting, when there is one.",
    "organizer.emailAddress": "Who organizes the event (JSON: name, address).",
    "location.displayName": "Where the event takes place, as typed or the room's name.",
    "location.locationType": "Kind of location: default, conferenceRoom, homeAddress, businessAddress, ...",
    "start.dateTime": "Start of the event (UTC).",
    "start.timeZone": "Time zone of the start as Graph returned it (UTC: the sync asks for UTC).",
    "end.dateTime": "End of the event (UTC); with the start, the meeting's length.",
    "end.timeZone": "Time zone of the end as Graph returned it.",
    "body.contentType": "Format of the body: text or html.",
    "body.content": "The invitation's body.",
    "responseStatus.response": "The owner's answer: none, organizer, accepted, tentativelyAccepted, declined, ...",
    "responseStatus.time": "When the owner answered (UTC).",
    "attendees": "Invitees (JSON list: address, type required/optional/resource, response); the staging model "
    "unnests it.",
    "middleName": "Name between the first and last names on the contact card.",
    "nickName": "Informal name the owner knows the contact by.",
    "initials": "Letters of the contact's names Outlook shows in place of a photo.",
    "title": "Form of address before the name (Dr., Ms.).",
    "fileAs": "Name the contact is filed under.",
    "businessHomePage": "Company web site.",
    "personalNotes": "The owner's notes on the contact.",
    "birthday": "Date of birth the owner entered; Outlook adds it as a yearly event.",
    "emailAddresses": "Email addresses (JSON list of name and address).",
    "businessPhones": "Business phone numbers (JSON list).",
    "homePhones": "Home phone numbers (JSON list).",
    "homeAddress": "Home postal address (JSON).",
    "businessAddress": "Business postal address (JSON).",
    "otherAddress": "Other postal address (JSON).",
    "webUrl": "URL that opens it in the browser.",
    "eTag": "Version of the item's metadata and content.",
    "createdBy.user": "Who created it (JSON: id, displayName).",
    "lastModifiedBy.user": "Who changed it last (JSON: id, displayName).",
    "parentReference.id": "The folder holding it (drive_items.id); rebuilds paths.",
    "parentReference.driveId": "The drive (OneDrive) it lives in.",
    "parentReference.driveType": "personal, business (OneDrive for Business) or documentLibrary.",
    "fileSystemInfo.createdDateTime": "When the file was created on the client that uploaded it (UTC).",
    "fileSystemInfo.lastModifiedDateTime": "When the file last changed on the client (UTC).",
    "folder.childCount": "Items directly in the folder; empty for files.",
    "file.mimeType": "MIME type of the file; empty for folders.",
    "file.hashes": "Content hashes (JSON: quickXorHash, sha1Hash, ...): finds duplicate files.",
    "shared.owner": "Who owns a shared item (JSON).",
    "shared.scope": "How widely it is shared: anonymous, organization or users.",
    "planId": "The plan the task belongs to (planner_plans.id).",
    "bucketId": "The plan's bucket (column) the task sits in.",
    "percentComplete": "0 (not started), 50 (in progress) or 100 (completed).",
    "priority": "0-10: 1 urgent, 3 important, 5 medium, 9 low.",
    "dueDateTime": "When the task is due (UTC).",
    "completedDateTime": "When the task was completed (UTC); empty while open.",
    "topic": "Subject of the conversation.",
    "lastDeliveredDateTime": "When the latest post arrived (UTC): how alive the group's mailbox is.",
    "membershipType": "standard (the whole team), private or shared channel.",
    "businessType": "Kind of business as set up in Bookings.",
    "email": "The business's contact mail address.",
    "activityDateTime": "When the directory change happened (UTC); the incremental cursor.",
    "activityDisplayName": "What was done, e.g. Add user, Update application.",
    "category": "Area of the change: UserManagement, GroupManagement, RoleManagement, ...",
    "result": "success, failure, timeout or unknownFutureValue.",
    "operationType": "Add, Update, Delete, Assign or Unassign.",
    "loggedByService": "Service that logged it: Core Directory, Self-service Password Management, ...",
    "userId": "The user who signed in (users.id).",
    "appDisplayName": "Application signed in to, e.g. Microsoft Teams.",
    "ipAddress": "Client IP address of the sign-in.",
    "clientAppUsed": "Client kind: Browser, Mobile Apps and Desktop clients, Exchange ActiveSync, ... "
    "(legacy protocols show here).",
    "userDisplayName": "Display name of the user who signed in.",
    "appId": "Application (client) id signed in to.",
    "correlationId": "Id tying the sign-in to the other events of the same request.",
    "conditionalAccessStatus": "Conditional Access outcome: success, failure or notApplied.",
    "isInteractive": "Whether a person signed in (false: a token refreshed by an app).",
    "riskDetail": "Why the risk state is what it is (none when there is no risk).",
    "riskLevelAggregated": "Aggregated risk level: none, low, medium, high.",
    "riskLevelDuringSignIn": "Risk level computed at sign-in time.",
    "riskState": "none, atRisk, confirmedCompromised, remediated, dismissed, ...",
    "resourceDisplayName": "Resource the token was for, e.g. Microsoft Graph.",
    "resourceId": "Application id of that resource.",
    "status.errorCode": "0 for a successful sign-in, else the Entra error code (50126: bad password).",
    "status.failureReason": "Why the sign-in failed, as text.",
    "status.additionalDetails": "More detail on the outcome (e.g. MFA requirement satisfied).",
    "deviceDetail.deviceId": "Id of the device signed in from, when registered.",
    "deviceDetail.displayName": "Name of the device signed in from, when registered.",
    "deviceDetail.operatingSystem": "Windows, MacOs, Ios, Android or Linux of the client signing in.",
    "deviceDetail.browser": "Browser and version the sign-in came through (Edge 120.0.0).",
    "location.city": "City the sign-in came from (from the IP address).",
    "location.state": "State or region the sign-in came from.",
    "location.countryOrRegion": "Two-letter country the sign-in came from.",
    "location.geoCoordinates": "Latitude and longitude of the sign-in (JSON).",
    "riskEventTypes_v2": "Risk detections of the sign-in (JSON list, e.g. unfamiliarFeatures).",
    # ---- sharepoint ----
    "site_id": "The site (sites.id, hostname,collection id,web id) it belongs to.",
    "list_id": "The list (site_lists.id) the item belongs to.",
    "item_id": "The item's own id within its list or drive (list items are numbered 1, 2, ... per list).",
    "drive_id": "The document library (site_drives.id) the item belongs to.",
    "group_id": "The Microsoft 365 group (groups.id) whose drive it is; empty for a site that is not a group's.",
    "isPersonalSite": "Whether it is a user's OneDrive site (its files are drive_items; its lists are not read).",
    "root": "Set ({}) on the tenant's root site only.",
    "list": "List settings (JSON: template such as genericList or documentLibrary, hidden, contentTypesEnabled).",
    "fields": "The item's column values (JSON object keyed by the list's internal column names: Title, ...).",
    "driveType": "documentLibrary for a site or group library (business: a OneDrive).",
    "quota": "Storage of the library (JSON: used, total, remaining, deleted bytes, state).",
    "owner": "Who owns the library (JSON identity: the group's name for a group's drive, else System Account).",
    "file": "Set on a file (JSON: mimeType, hashes); empty for a folder.",
    "folder": "Set on a folder (JSON: childCount); empty for a file.",
    "appliedConditionalAccessPolicies": "Conditional Access policies evaluated and their result (JSON list); Graph "
    "fills it only for an app that also has Policy.Read.All (else an empty list).",
    # ---- entra governance (entra-access) ----
    "ownerId": "The owner's directory object id (a user, or a service principal that owns it).",
    "ownerType": "What the owner is: user or servicePrincipal.",
    "isBuiltIn": "Whether Microsoft defines the role (true) or the tenant made it (a custom role).",
    "isEnabled": "Whether the role can be assigned.",
    "templateId": "Id of the template it was made from: for a built-in role the same in every tenant.",
    "version": "Version of the role definition.",
    "rolePermissions": "What the role allows (JSON list of allowed and excluded resource actions).",
    "principalId": "Who holds the role: a user's, group's or service principal's directory object id.",
    "roleDefinitionId": "The role held (directory_roles.id).",
    "directoryScopeId": "Where the role applies: / for the whole directory, /administrativeUnits/{id} for one unit.",
    "appScopeId": "Application scope of the assignment, when it is limited to one application.",
    "state": "enabled (enforced), disabled, or enabledForReportingButNotEnforced (report-only: evaluated, logged, "
    "not enforced).",
    "modifiedDateTime": "When it last changed (UTC); empty when never changed since creation.",
    "conditions": "Who and what the policy applies to (JSON: users, groups, roles, applications, client app "
    "types, platforms, locations, risk levels).",
    "grantControls": "What access requires (JSON: operator and builtInControls such as mfa, block, "
    "compliantDevice); empty for a session-only policy.",
    "sessionControls": "Session limits it sets (JSON: sign-in frequency, persistent browser, app-enforced "
    "restrictions).",
    "isAdmin": "Whether the user holds an admin (directory) role.",
    "isMfaRegistered": "Whether the user registered a method usable as a second factor (MFA).",
    "isMfaCapable": "Whether the user can do MFA now: a strong method registered and allowed by policy.",
    "isSsprRegistered": "Whether the user registered enough methods for self-service password reset.",
    "isSsprEnabled": "Whether self-service password reset is turned on for the user.",
    "isSsprCapable": "Whether the user can reset their own password now (enabled and registered).",
    "isPasswordlessCapable": "Whether the user can sign in without a password (FIDO2 key, Windows Hello, "
    "Authenticator passwordless).",
    "isSystemPreferredAuthenticationMethodEnabled": "Whether Entra picks the strongest registered method for the "
    "user's MFA prompts.",
    "userPreferredMethodForSecondaryAuthentication": "The second factor the user picked as default: push, oath, "
    "sms, voiceMobile, ... or none.",
    "lastUpdatedDateTime": "When the report last refreshed the user's row (UTC).",
    "methodsRegistered": "Authentication methods the user registered (JSON list, e.g. microsoftAuthenticatorPush, "
    "mobilePhone, fido2); the staging model unnests it.",
    "systemPreferredAuthenticationMethods": "Method Entra prompts the user with when it chooses (JSON list: push, "
    "oath, sms, ...).",
    # ---- entra apps ----
    "signInAudience": "Who may sign in to the app: AzureADMyOrg (this tenant), AzureADMultipleOrgs, "
    "AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount.",
    "publisherDomain": "Verified domain of the app's publisher.",
    "passwordCredentials": "Client secrets (JSON list of keyId, displayName, startDateTime, endDateTime; never the "
    "secret or its hint): the staging model unnests them with their expiry dates.",
    "keyCredentials": "Certificates (JSON list of keyId, displayName, startDateTime, endDateTime, type, usage; never "
    "the key): the staging model unnests them with their expiry dates.",
    "servicePrincipalType": "Application (an app's instance in a tenant), ManagedIdentity, Legacy or SocialIdp.",
    "appOwnerOrganizationId": "Tenant that registered the app: this tenant's id for its own apps, Microsoft's or "
    "a vendor's for the others.",
    "deviceId": "Id the device registered with (set by its Entra registration; sign-ins name it as deviceDetail).",
    "operatingSystem": "Windows, MacMDM, iOS, Android, Linux...",
    "operatingSystemVersion": "Version of the operating system (10.0.22631.2861).",
    "trustType": "How the device joined: AzureAd (Entra joined), ServerAd (hybrid joined) or Workplace (registered, "
    "a personal device).",
    "isCompliant": "Whether Intune (or another MDM) marks it compliant with the tenant's policies; null when no MDM "
    "manages it.",
    "isManaged": "Whether an MDM manages it.",
    "deviceOwnership": "Company or Personal.",
    "manufacturer": "Maker of the device.",
    "model": "Hardware model as the maker names it (Latitude 7440, iPhone 15).",
    "registrationDateTime": "When it was registered with Entra ID (UTC).",
    "approximateLastSignInDateTime": "Last sign-in from the device (UTC; Entra updates it about every two weeks): "
    "finds stale devices.",
    # ---- teams messages and members ----
    "team_id": "The team (teams.id, its group's id) it belongs to.",
    "channel_id": "The channel (channels.id) it was posted in or belongs to; with team_id and id the key.",
    "replyToId": "The message it replies to (empty for a top-level message).",
    "etag": "Version of the message (changes with every edit or reaction).",
    "messageType": "message for what a person or bot wrote; systemEventMessage for events (member added...).",
    "lastEditedDateTime": "When its author last edited the text (UTC); empty when never edited.",
    "summary": "Short text Teams shows in notifications instead of the body, when the sender set one.",
    "locale": "Locale the client set (Teams always writes en-us).",
    "from": "Who posted it (JSON): user (id, displayName), or application or device for a bot or connector.",
    "eventDetail": "For a system event message, what happened (member added, channel renamed...) as JSON.",
    "attachments": "Files, cards and links attached to the message (JSON list).",
    "mentions": "People, channels or tags @mentioned in the message (JSON list).",
    "reactions": "Reactions (like, heart...) with who reacted and when (JSON list).",
    "messageHistory": "Edits and reactions over time (JSON list).",
    "roles": "Roles in the team or channel (JSON list): owner, guest; empty for a plain member.",
    "tenantId": "Entra tenant of the member (a member from another tenant in shared channels shows its own).",
    "visibleHistoryStartDateTime": "From when the member sees the chat history, as Graph writes it "
    "(0001-01-01T00:00:00Z: all of it).",
    # ---- rooms, room lists, series masters ----
    "location.locationEmailAddress": "Address of the room the event books (a room resource mailbox); empty for a "
    "typed location.",
    "recurrence.pattern": "How the series repeats (JSON: type daily/weekly/absoluteMonthly/..., interval, "
    "daysOfWeek, dayOfMonth, month, index).",
    "recurrence.range": "When the series runs (JSON: type endDate/noEnd/numbered, startDate, endDate, "
    "numberOfOccurrences, recurrenceTimeZone).",
    "emailAddress": "Email address of the room or room list (what a meeting invites or Outlook's room finder lists).",
    "capacity": "Number of people the room seats.",
    "building": "Name of the building (site) the room is in; rooms of one building share its room list.",
    "floorNumber": "Floor of the building the room is on.",
    "floorLabel": "How the floor is named (e.g. Floor 3, Mezzanine).",
    "label": "Short label of the place, e.g. its room number.",
    "nickname": "Short name people use for the room.",
    "phone": "Phone number of the place.",
    "isWheelChairAccessible": "Whether the room is wheelchair accessible.",
    "bookingType": "standard (anyone can book it in Outlook) or reserved (assigned to someone, not bookable).",
    "audioDeviceName": "Audio device in the room (empty: none).",
    "videoDeviceName": "Video device in the room (empty: none).",
    "displayDeviceName": "Display device in the room (empty: none).",
    "address": "Street address of the place (JSON: street, city, state, postalCode, countryOrRegion).",
    "geoCoordinates": "Latitude, longitude and altitude of the place (JSON).",
    "tags": "Free-form tags the admin set on the room (JSON list, e.g. whiteboard).",
}

# Columns the sync adds to every raw table.
BOOKKEEPING: dict[str, str] = {
    "is_deleted": "Set on a row Graph reported deleted (@removed): the merge deletes the row, so it never stays.",
    "sync_seq": "Order of the copies of one item within a load: the last copy wins the merge.",
    "_dlt_load_id": "dlt load that wrote the row (a row of _dlt_loads).",
    "_dlt_id": "dlt's unique row id; child tables point at it with _dlt_parent_id.",
}


def column_name(path: str) -> str:
    """dlt's column name of a Graph property path: ``from.emailAddress`` -> ``from__email_address``."""
    return "__".join(_NAMING.normalize_identifier(part) for part in path.split("."))


def declared_columns(entity: Entity) -> dict[str, DataType]:
    """The properties an entity stores with their types, ``id`` and the mailbox key first (Graph paths)."""
    keys: dict[str, DataType] = {"id": "text"}
    if entity.per_user:
        keys["user_id"] = "text"
    return {**keys, **entity.columns, **entity.layout}


def describe(entity: Entity, path: str) -> str:
    """What a property of an entity means."""
    return entity.descriptions.get(path) or PROPERTIES[path]


def column_descriptions(entity: Entity) -> dict[str, str]:
    """Every declared raw column of an entity (dlt names) with its description, bookkeeping columns last."""
    described = {column_name(path): describe(entity, path) for path in declared_columns(entity)}
    return {**described, **BOOKKEEPING}


def column_types(entity: Entity) -> dict[str, str]:
    """The declared raw columns' types (dlt names), bookkeeping columns included."""
    types = {column_name(path): kind for path, kind in declared_columns(entity).items()}
    return {**types, "is_deleted": "bool", "sync_seq": "bigint", "_dlt_load_id": "text", "_dlt_id": "text"}


SOURCES_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_graph__sources.yml"
_SOURCES_HEAD = """\
version: 2

# Written by `python -m o365_pipeline.graph.entity_columns` from the entity catalogue (graph/entities.py,
# graph/entity_columns.py): edit those, then run it again.
sources:
  - name: graph
    description: Raw Microsoft Graph tables loaded by dlt (one per entity, merged on id; child tables parent__child).
    # The schema dlt loads into (O365_DATASET).
    schema: "{{ env_var('O365_DATASET', 'o365_raw') }}"
    tables:
"""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sources_yaml(entities: Mapping[str, Entity] = ENTITIES) -> str:
    """The dbt sources file: every raw table with its description, Dagster asset key and described columns."""
    lines = [_SOURCES_HEAD.rstrip("\n")]
    for entity in entities.values():
        lines += [
            f"      - name: {entity.name}",
            f"        description: {_quoted(entity.description)}",
            "        meta:",
            "          dagster:",
            f'            asset_key: ["o365_raw", "{entity.name}"]',
            "        columns:",
        ]
        for name, text in column_descriptions(entity).items():
            lines += [f"          - name: {name}", f"            description: {_quoted(text)}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    SOURCES_FILE.write_text(sources_yaml())
    print(f"wrote {SOURCES_FILE}", file=sys.stderr)
