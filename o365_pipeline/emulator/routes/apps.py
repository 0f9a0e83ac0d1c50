"""Entra app and device routes: applications, servicePrincipals, devices (list, delta, one object).

Each is a directory collection: lists page by opaque ``$skiptoken`` (default 100, ``$top`` up to 999), delta rounds
open with an empty page, report an update with only its changed properties (adding a secret changes
``passwordCredentials``) and deletions as ``@removed``. A single application or service principal asked with
``$select=keyCredentials`` carries the certificates' ``key`` bytes, as Graph documents; lists and delta never do.
"""

from __future__ import annotations

import random
import weakref
from typing import TYPE_CHECKING, Any

from ..odata import Collection, Shape, dumps
from ..paging import delta_page, list_page
from ..router import DELTA, SEG, GraphError, Request, Response
from ..tenant_apps import APPLICATION_SHAPE, DEVICE_SHAPE, SERVICE_PRINCIPAL_SHAPE, AppDirectory, key_bytes

if TYPE_CHECKING:
    from ..core import Emulator

CTX = "https://graph.microsoft.com/v1.0/$metadata#"
# route name prefix, path segment, the AppDirectory collection, shape
COLLECTIONS = (
    ("applications", "application", "applications", APPLICATION_SHAPE),
    ("service_principals", "service_principal", "servicePrincipals", SERVICE_PRINCIPAL_SHAPE),
    ("devices", "device", "devices", DEVICE_SHAPE),
)
# days from TENANT_EPOCH a secret added by mutate `update` ends: within the default 30-day expiry window
ADDED_SECRET_DAYS = 10

_BY_EMULATOR: weakref.WeakKeyDictionary[Emulator, AppDirectory] = weakref.WeakKeyDictionary()


def apps_for(emu: Emulator) -> AppDirectory:
    """The `AppDirectory` of ``emu`` (its data is built on first use)."""
    found = _BY_EMULATOR.get(emu)
    if found is None:
        d = emu.directory
        found = _BY_EMULATOR[emu] = AppDirectory(d.seed, d.tenant_id, d.domain, d.user_count, emu.clock)
    return found


def with_key_bytes(item: dict[str, Any]) -> dict[str, Any]:
    """A single object's rendering with its certificates' ``key`` filled in (``$select=keyCredentials``)."""
    keys = [dict(k, key=key_bytes(k["keyId"])) for k in item.get("keyCredentials") or []]
    return {**item, "keyCredentials": keys}


def register(emu: Emulator) -> None:
    """Add the application, service principal and device routes, their truth sources and mutators."""
    apps = apps_for(emu)
    r = emu.router

    def collection(attr: str) -> Collection:
        return getattr(apps, attr)  # type: ignore[no-any-return]

    for name, one, segment, shape in COLLECTIONS:
        attr = name

        def listing(req: Request, attr: str = attr, segment: str = segment, shape: Shape = shape) -> Response:
            coll = collection(attr)
            sel = shape.parse_select(req.query.get("$select"), coll.sample())
            return list_page(
                req,
                emu,
                scope=segment,
                rendered=coll.rendered(shape, sel),
                context=CTX + segment + (f"({','.join(sel)})" if sel else ""),
                default=100,
                maximum=999,
                family="directory",
                countable=True,
            )

        def delta(req: Request, attr: str = attr, segment: str = segment, shape: Shape = shape) -> Response:
            return delta_page(
                req,
                emu,
                scope=segment,
                coll=collection(attr),
                shape=shape,
                context=CTX + segment,
                default=emu.directory.scale.directory_delta_page,
                maximum=999,
            )

        def single(req: Request, attr: str = attr, segment: str = segment, shape: Shape = shape) -> Response:
            item = collection(attr).get(req.params["id"])
            if item is None:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{req.params['id']}' does not exist or one of its queried reference-property "
                    "objects are not present.",
                )
            sel = shape.parse_select(req.query.get("$select"), item)
            body = shape.project(item, sel)
            if sel is not None and "keyCredentials" in sel:
                body = with_key_bytes(body)
            return Response(200, dumps({"@odata.context": f"{CTX}{segment}/$entity", **body}))

        r.add("GET", rf"/{segment}", listing, name=name, kind="directory", cost=2)
        r.add("GET", rf"/{segment}/{DELTA}", delta, name=f"{name}_delta", kind="directory", cost=2)
        r.add("GET", rf"/{segment}/(?P<id>{SEG})", single, name=one, kind="directory", cost=1)
        emu.add_truth(name, lambda attr=attr: list(collection(attr).items))

    emu.add_mutator("applications", lambda op, n, rng: mutate_applications(apps, op, n, rng))
    emu.add_mutator("devices", lambda op, n, rng: mutate_devices(apps, op, n, rng))


def mutate_applications(apps: AppDirectory, op: str, n: int, rng: random.Random) -> list[str]:
    """Register (create), add a secret expiring within 30 days to (update) or delete n apps; a created or deleted
    app's service principal comes or goes with it."""
    out: list[str] = []
    for _ in range(n):
        if op == "create":
            out.append(apps.add_application(rng)["id"])
            continue
        ids = list(apps.applications.items)
        if not ids:
            break
        app_id = ids[rng.randrange(len(ids))]
        if op == "update":
            apps.add_secret(app_id, ADDED_SECRET_DAYS, rng)
        elif op == "delete":
            apps.remove_application(app_id)
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for applications (create|update|delete)")
        out.append(app_id)
    return out


def mutate_devices(apps: AppDirectory, op: str, n: int, rng: random.Random) -> list[str]:
    """Register (create), update (operating system version, enabled) or delete n devices."""
    out: list[str] = []
    for _ in range(n):
        if op == "create":
            out.append(apps.add_device()["id"])
            continue
        ids = list(apps.devices.items)
        if not ids:
            break
        device_id = ids[rng.randrange(len(ids))]
        if op == "update":
            device = apps.devices.items[device_id]
            changed = dict(device, operatingSystemVersion=f"{device['operatingSystemVersion']}.1", accountEnabled=False)
            apps.devices.upsert(changed, fields=["operatingSystemVersion", "accountEnabled"])
        elif op == "delete":
            apps.devices.remove(device_id, "deleted")
        else:
            raise GraphError(400, "BadRequest", f"unknown op {op!r} for devices (create|update|delete)")
        out.append(device_id)
    return out
