"""The emulator's answers against Graph's v1.0 schema, as Microsoft's own SDK (msgraph-sdk) declares it.

The requests are the pipeline's own: a full sync of the seeded small tenant runs with a recorder on the emulator
(every answer, inner ``$batch`` ones included), then each route's first request is sent again without
``$select`` (Graph's default property set), then every other Graph GET route once (OTHER_ROUTES). Every item of
every answer is checked (graph_schema.py): a property, type or enum value v1.0 does not declare fails the test.
A new route fails until it names its v1.0 model here and is asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from kiota_abstractions.serialization import Parsable

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.emulator.core import GRAPH_KINDS, Emulator
from o365_pipeline.emulator.router import Request, Response
from o365_pipeline.graph.reports import HEADERS
from o365_pipeline.sync import run_sync
from o365_pipeline_tests.conftest import use_emulator

from .conftest import get_token, tls
from .graph_schema import Report, check_object

# emulator route -> the msgraph-sdk model (module under msgraph.generated.models, class) of what it answers
ROUTE_MODELS = {
    "users": "user.User",
    "users_delta": "user.User",
    "groups": "group.Group",
    "groups_delta": "group.Group",
    "organization": "organization.Organization",
    "subscribed_skus": "subscribed_sku.SubscribedSku",
    "mail_folders_delta": "mail_folder.MailFolder",
    "messages_delta": "message.Message",
    "message_attachments": "attachment.Attachment",
    "event_attachments": "attachment.Attachment",
    "calendars": "calendar.Calendar",
    "events_delta": "event.Event",
    "contact_folders_delta": "contact_folder.ContactFolder",
    "contacts": "contact.Contact",
    "contacts_delta": "contact.Contact",
    "drive_delta": "drive_item.DriveItem",
    "booking_businesses": "booking_business.BookingBusiness",
    "booking_appointments": "booking_appointment.BookingAppointment",
    "booking_customers": "booking_customer.BookingCustomer",
    "booking_services": "booking_service.BookingService",
    "booking_staffMembers": "booking_staff_member_base.BookingStaffMemberBase",
    "booking_customQuestions": "booking_custom_question.BookingCustomQuestion",
    "teams": "team.Team",
    "channels": "channel.Channel",
    "channel_messages_delta": "chat_message.ChatMessage",
    "channel_message_replies": "chat_message.ChatMessage",
    "team_members": "conversation_member.ConversationMember",
    "channel_members": "conversation_member.ConversationMember",
    "group_conversations": "conversation.Conversation",
    "planner_group_plans": "planner_plan.PlannerPlan",
    "planner_tasks": "planner_task.PlannerTask",
    "directory_audits": "directory_audit.DirectoryAudit",
    "sign_ins": "sign_in.SignIn",
    # ---- entra governance (entra-access) ----
    "role_definitions": "unified_role_definition.UnifiedRoleDefinition",
    "role_assignments": "unified_role_assignment.UnifiedRoleAssignment",
    "conditional_access_policies": "conditional_access_policy.ConditionalAccessPolicy",
    "user_registration_details": "user_registration_details.UserRegistrationDetails",
    "group_owners": "directory_object.DirectoryObject",
    "applications_delta": "application.Application",
    "service_principals_delta": "service_principal.ServicePrincipal",
    "devices_delta": "device.Device",
    "user_events": "event.Event",
    "rooms": "room.Room",
    "room_lists": "room_list.RoomList",
    # routes the pipeline does not read, asked once each by the fixture (OTHER_ROUTES)
    "user": "user.User",
    "group": "group.Group",
    "group_members": "directory_object.DirectoryObject",
    "booking_business": "booking_business.BookingBusiness",
    "booking_calendar_view": "booking_appointment.BookingAppointment",
    "user_drive": "drive.Drive",
    "drive": "drive.Drive",
    "mail_folders": "mail_folder.MailFolder",
    "mail_child_folders": "mail_folder.MailFolder",
    "mail_folder": "mail_folder.MailFolder",
    "messages": "message.Message",
    "user_messages": "message.Message",
    "message": "message.Message",
    "calendar": "calendar.Calendar",
    "contact_folders": "contact_folder.ContactFolder",
    "contact_child_folders": "contact_folder.ContactFolder",
    "folder_contacts": "contact.Contact",
    "planner_plan": "planner_plan.PlannerPlan",
    "team": "team.Team",
    # ---- sharepoint ----
    "sites_all": "site.Site",
    "site_lists": "list_.List_",
    "list_items_delta": "list_item.ListItem",
    "site_drives": "drive.Drive",
    "group_drive": "drive.Drive",
    "site": "site.Site",
    "site_list": "list_.List_",
    "list_items": "list_item.ListItem",
    "applications": "application.Application",
    "application": "application.Application",
    "service_principals": "service_principal.ServicePrincipal",
    "service_principal": "service_principal.ServicePrincipal",
    "devices": "device.Device",
    "device": "device.Device",
    "channel_messages": "chat_message.ChatMessage",
    "room_list_rooms": "room.Room",
}
NOT_ENTITIES = {"batch"}  # the $batch envelope: its inner answers are recorded and checked one by one
COUNTS = {"users_count", "groups_count"}  # /$count answers a number as text/plain, no model
# usage reports answer 302 to a CSV download (no JSON, no model): checked against the documented columns
REPORT, DOWNLOAD = "reports", "report_download"
CSV_ROUTES = {REPORT, DOWNLOAD}
# The other GET routes, with ids from earlier answers: {u} a readable mailbox, {g} a group, {t} a team, {p} a plan,
# {b} a Bookings business, {d} the mailbox's drive, {m} a message, {c} a contact folder, {a} an application with a
# certificate (asked for its key bytes), {e} a service principal (enterprise app), {v} a device, {ch} a channel of
# {t}, {cm} a message of that channel, {rl} a room list's address.
OTHER_ROUTES = (
    "/users/{u}",
    "/groups/{g}",
    "/groups/{g}/members",
    "/groups/{g}/owners",
    "/solutions/bookingBusinesses/{b}",
    "/solutions/bookingBusinesses/{b}/calendarView?start=2026-09-01T00:00:00Z&end=2027-01-01T00:00:00Z",
    "/users/{u}/drive",
    "/drives/{d}",
    "/users/{u}/mailFolders",
    "/users/{u}/mailFolders/inbox",
    "/users/{u}/mailFolders/inbox/childFolders",
    "/users/{u}/mailFolders/inbox/messages",
    "/users/{u}/messages",
    "/users/{u}/messages/{m}",
    "/users/{u}/calendar",
    "/users/{u}/events",
    "/users/{u}/contactFolders",
    "/users/{u}/contactFolders/{c}/childFolders",
    "/users/{u}/contactFolders/{c}/contacts",
    "/planner/plans/{p}",
    "/teams/{t}",
    "/sites/{s}",
    "/sites/{s}/lists/{l}",
    "/sites/{s}/lists/{l}/items?$expand=fields",
    "/applications",
    "/applications/{a}",
    "/applications/{a}?$select=id,keyCredentials",
    "/servicePrincipals",
    "/servicePrincipals/{e}",
    "/devices",
    "/devices/{v}",
    "/teams/{t}/channels/{ch}/messages",
    "/teams/{t}/channels/{ch}/messages/{cm}/replies",
    "/places/{rl}/microsoft.graph.roomlist/rooms",
)


def model(route: str) -> type[Parsable]:
    """The msgraph-sdk class of a route's items."""
    module, cls = ROUTE_MODELS[route].rsplit(".", 1)
    return getattr(importlib.import_module(f"msgraph.generated.models.{module}"), cls)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Answer:
    route: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes
    location: str = ""


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Answer]]:
    """Every 200 JSON answer of a full sync of the small tenant, then each route once more without $select."""
    tmp = tmp_path_factory.mktemp("conformance")
    seen: list[Answer] = []

    def record(req: Request, resp: Response) -> None:
        route = req.route
        if route is not None and route.kind in ("directory", "outlook", "graph") and resp.status == 200:
            seen.append(Answer(route.name, req.path, tuple(sorted(req.query.items())), resp.body))
        elif route is not None and route.name in CSV_ROUTES and resp.status in (200, 302):
            location = dict(resp.headers).get("Location", "")
            seen.append(Answer(route.name, req.path, (), resp.body, location))

    with (
        EmulatorServer(seed=3, scale="small", state_dir=tmp / "emulator") as emulator,
        pytest.MonkeyPatch.context() as mp,
    ):
        use_emulator(emulator, tmp, mp)
        emulator.emu.recorder = record
        run_sync(O365Auth.from_env(), PipelineConfig.from_env())
        firsts = {}
        for a in seen:  # each route's first request that opens a round (no paging token), if it had a $select
            if a.route not in NOT_ENTITIES | CSV_ROUTES and not {"$skiptoken", "$deltatoken"} & dict(a.query).keys():
                firsts.setdefault(a.route, a)
        headers = {"Authorization": f"Bearer {get_token(emulator)}"}
        with httpx.Client(base_url=emulator.base_url, verify=tls(emulator), headers=headers, timeout=60) as c:
            for a in firsts.values():
                query = {k: v for k, v in a.query if k != "$select"}
                if query != dict(a.query):
                    assert c.get(a.path, params=query).status_code == 200, a.path
            _ask_other_routes(c, seen)
        emulator.emu.recorder = None
        yield seen


def _first_id(answers: list[Answer], route: str) -> str:
    body = orjson.loads(next(a.body for a in answers if a.route == route))
    return str((body["value"][0] if "value" in body else body)["id"])


def _ask_other_routes(c: httpx.Client, seen: list[Answer]) -> None:
    """GET each route of OTHER_ROUTES once (default properties), ids taken from the answers seen so far."""
    user = next(a.path.split("/")[3] for a in seen if a.route == "messages_delta")
    ids = {
        "u": user,
        "g": _first_id(seen, "groups"),
        "t": _first_id(seen, "teams"),
        "p": _first_id(seen, "planner_group_plans"),
        "b": _first_id(seen, "booking_businesses"),
        "d": c.get(f"/v1.0/users/{user}/drive").json()["id"],
        "m": c.get(f"/v1.0/users/{user}/messages?$top=1&$select=id").json()["value"][0]["id"],
        "c": c.get(f"/v1.0/users/{user}/contactFolders?$top=1&$select=id").json()["value"][0]["id"],
        "s": _first_id(seen, "sites_all"),
        "a": next(
            a["id"]
            for a in c.get("/v1.0/applications?$select=id,keyCredentials").json()["value"]
            if a["keyCredentials"]
        ),
        "e": c.get("/v1.0/servicePrincipals?$top=1&$select=id").json()["value"][0]["id"],
        "v": c.get("/v1.0/devices?$top=1&$select=id").json()["value"][0]["id"],
        "rl": orjson.loads(next(a.body for a in seen if a.route == "room_lists"))["value"][0]["emailAddress"],
    }
    lists = c.get(f"/v1.0/sites/{ids['s']}/lists?$select=id,list").json()["value"]
    ids["l"] = next(lst["id"] for lst in lists if lst["list"]["template"] != "documentLibrary")  # a list with items
    ids["ch"] = c.get(f"/v1.0/teams/{ids['t']}/channels?$select=id").json()["value"][0]["id"]
    ids["cm"] = c.get(f"/v1.0/teams/{ids['t']}/channels/{ids['ch']}/messages?$top=1").json()["value"][0]["id"]
    for route in OTHER_ROUTES:
        url = "/v1.0" + route.format(**ids)
        assert c.get(url).status_code == 200, url


def test_every_answer_the_pipeline_reads_is_graph_v1(answers: list[Answer]) -> None:
    asked = {a.route for a in answers}
    routes = asked - NOT_ENTITIES - CSV_ROUTES
    unmapped = routes - ROUTE_MODELS.keys()
    assert not unmapped, f"routes without a v1.0 model in ROUTE_MODELS: {sorted(unmapped)}"
    graph_gets = {r.name for r in Emulator().router.routes if r.method == "GET" and r.kind in GRAPH_KINDS}
    assert graph_gets - COUNTS - asked == set(), "Graph GET routes no answer was checked of (add to OTHER_ROUTES)"
    report = Report()
    items = 0
    for a in answers:
        if a.route in NOT_ENTITIES | CSV_ROUTES:
            continue
        body = orjson.loads(a.body)
        values = body["value"] if isinstance(body.get("value"), list) else [body]
        for i, item in enumerate(values):
            check_object(model(a.route), item, report, f"{a.route} {a.path}[{i}]")
        items += len(values)
    answered = len([a for a in answers if a.route not in NOT_ENTITIES | CSV_ROUTES])
    print(
        f"\nconformance: {len(routes)} routes, {answered} answers, {items} items, "
        f"{len(report.properties)} distinct properties of {len({c for c, _ in report.properties})} types, "
        f"{report.values} values checked; {len(report.violations)} violations"
    )
    assert not report.violations, "\n".join(
        f"{what} (e.g. {where})" for what, where in sorted(report.violations.items())
    )
    assert len(report.properties) >= 400  # the sync really read every entity


def test_the_check_fails_on_undeclared_properties_types_and_enum_values() -> None:
    report = Report()
    check_object(model("mail_folders_delta"), {"id": "f", "displayName": "Inbox", "sizeInBytes": 1}, report, "a")
    message = {"id": "m", "isRead": "true", "importance": "urgent", "from": {"emailAddress": {"address": 5}}}
    check_object(model("messages_delta"), message, report, "b")
    attachment = {"@odata.type": "#microsoft.graph.fileAttachment", "id": "a", "contentBytes": "aGk=", "x": 1}
    check_object(model("message_attachments"), attachment, report, "c")
    check_object(model("message_attachments"), {"@odata.type": "#microsoft.graph.madeUp", "id": "z"}, report, "d")
    assert set(report.violations) == {
        "MailFolder.sizeInBytes: not a v1.0 property",
        "Message.isRead: 'true' is not what v1.0 declares (bool_value)",
        "Message.importance: 'urgent' is not a member of Importance",
        "EmailAddress.address: 5 is not what v1.0 declares (str_value)",
        "FileAttachment.x: not a v1.0 property",
        "@odata.type '#microsoft.graph.madeUp' is not Attachment or a type derived from it",
    }
    assert ("FileAttachment", "contentBytes") in report.properties  # the derived type's own properties


def test_usage_reports_redirect_elsewhere_to_csvs_with_the_documented_columns(answers: list[Answer]) -> None:
    redirects = [a for a in answers if a.route == REPORT]
    csvs = [a.body for a in answers if a.route == DOWNLOAD]
    assert len(redirects) == len(csvs) == len(HEADERS)  # each report asked once, each download fetched once
    for a in redirects:
        assert a.body == b"" and a.location.startswith("https://localhost:"), a  # another origin than 127.0.0.1
    documented = {",".join(columns) for columns in HEADERS.values()}  # the docs' column lists, in order
    served = set()
    for body in csvs:
        assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark, as Graph's CSVs are
        served.add(body[3:].split(b"\r\n", 1)[0].decode())
    assert served == documented
