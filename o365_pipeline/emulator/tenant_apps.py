"""The seeded app registrations, their service principals and the tenant's devices.

Built on first use from the seed: about one app registration per two users (at least 10) with client secrets and
certificates whose expiry dates spread around the tenant's "now" (``TENANT_EPOCH``: expired, expiring within days,
valid for a year, none at all), one service principal per app plus Microsoft's own first-party ones, and one
device per user. Credentials render as Graph does: ``secretText`` and ``key`` are null in lists and delta rounds;
``key`` is returned only for a single object asked with ``$select=keyCredentials`` (see ``routes/apps.py``).
"""

from __future__ import annotations

import base64
import random
import threading
from datetime import datetime, timedelta
from typing import Any

from .odata import DIRECTORY, Collection, SeqClock, Shape
from .workload_kit import TENANT_EPOCH, digest_bytes, guid, rng_for

APPLICATION_SHAPE = Shape("microsoft.graph.application", None, DIRECTORY)
SERVICE_PRINCIPAL_SHAPE = Shape("microsoft.graph.servicePrincipal", None, DIRECTORY)
DEVICE_SHAPE = Shape("microsoft.graph.device", None, DIRECTORY)

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # appOwnerOrganizationId of Microsoft's own apps
FIRST_PARTY = (
    ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
)
# Expiry of the app's secret and certificate in days from TENANT_EPOCH, by app number modulo 10 (None: none): the
# small tenant's 10 apps hold expired, soon-expiring (within 30 days), long-valid and no credentials at all.
SECRET_DAYS: tuple[int | None, ...] = (-5, 12, 180, 25, 400, None, 3, 90, -40, 700)
CERT_DAYS: tuple[int | None, ...] = (None, 20, 365, None, 6, None, -2, 500, None, 28)
APP_NAMES = ("Payroll Sync", "HR Portal", "Backup Agent", "CRM Connector", "Intranet", "Build Bot", "Sales Dashboard")
OPERATING_SYSTEMS = (
    ("Windows", "10.0.22631.2861", "Dell Inc.", "Latitude 7440"),
    ("Windows", "10.0.19045.3803", "LENOVO", "ThinkPad T14"),
    ("MacMDM", "14.2.1", "Apple", "MacBookPro18,3"),
    ("iOS", "17.2", "Apple", "iPhone 15"),
    ("Android", "14.0", "samsung", "SM-S911B"),
)
TRUST_TYPES = ("AzureAd", "ServerAd", "Workplace")


def graph_time(moment: datetime) -> str:
    """How Graph writes a credential or device date: ``2026-11-06T10:00:00Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def password_credential(key_id: str, name: str, end_days: int, rng: random.Random) -> dict[str, Any]:
    """A client secret ending ``end_days`` after TENANT_EPOCH, as a list renders it (no secret, a hint)."""
    end = TENANT_EPOCH + timedelta(days=end_days, hours=rng.randint(0, 23))
    return {
        "customKeyIdentifier": None,
        "displayName": name,
        "endDateTime": graph_time(end),
        "hint": "".join(rng.choice("abcdefghijkmnopqrstuvwxyz0123456789~") for _ in range(3)),
        "keyId": guid("secret", key_id),
        "secretText": None,
        "startDateTime": graph_time(end - timedelta(days=365 if end_days < 365 else 730)),
    }


def key_credential(key_id: str, subject: str, end_days: int, usage: str = "Verify") -> dict[str, Any]:
    """A certificate ending ``end_days`` after TENANT_EPOCH, as a list renders it (``key`` null)."""
    end = TENANT_EPOCH + timedelta(days=end_days)
    return {
        "customKeyIdentifier": base64.b64encode(digest_bytes(20, "thumbprint", key_id)).decode(),
        "displayName": f"CN={subject}",
        "endDateTime": graph_time(end),
        "key": None,
        "keyId": guid("certificate", key_id),
        "startDateTime": graph_time(end - timedelta(days=365)),
        "type": "AsymmetricX509Cert",
        "usage": usage,
    }


def key_bytes(key_id: str) -> str:
    """The certificate's bytes (base64) Graph returns for a single object asked with ``$select=keyCredentials``."""
    return base64.b64encode(b"0\x82\x03" + digest_bytes(96, "certificate bytes", key_id)).decode()


class AppDirectory:
    """Applications, service principals and devices of one seeded tenant (built on first use)."""

    def __init__(self, seed: int, tenant_id: str, domain: str, users: int, clock: SeqClock) -> None:
        self.seed = seed
        self.tenant_id = tenant_id
        self.domain = domain
        self.clock = clock
        self.app_count = max(10, users // 2)
        self.device_count = users
        self.lock = threading.RLock()
        self._built = False
        self._applications = Collection(clock)
        self._service_principals = Collection(clock)
        self._devices = Collection(clock)

    def _build(self) -> None:
        with self.lock:
            if self._built:
                return
            for i in range(self.app_count):
                app = self.make_application(i)
                self._applications.items[app["id"]] = app
                self._applications.order.append(app["id"])
                sp = self.make_service_principal(app, i)
                self._service_principals.items[sp["id"]] = sp
                self._service_principals.order.append(sp["id"])
            for app_id, name in FIRST_PARTY:
                sp = self._service_principal(guid("sp", self.seed, app_id), app_id, name, MICROSOFT_TENANT)
                self._service_principals.items[sp["id"]] = sp
                self._service_principals.order.append(sp["id"])
            for i in range(self.device_count):
                device = self.make_device(i)
                self._devices.items[device["id"]] = device
                self._devices.order.append(device["id"])
            for coll in (self._applications, self._service_principals, self._devices):
                coll._order_set.update(coll.order)  # noqa: SLF001 - seeded in place, as Directory seeds groups
            self._built = True

    @property
    def applications(self) -> Collection:
        """App registrations."""
        self._build()
        return self._applications

    @property
    def service_principals(self) -> Collection:
        """Service principals (enterprise apps)."""
        self._build()
        return self._service_principals

    @property
    def devices(self) -> Collection:
        """Registered and joined devices."""
        self._build()
        return self._devices

    # ---- applications and service principals ---------------------------------------------------------------
    def make_application(self, i: int, created: str | None = None) -> dict[str, Any]:
        """The seeded app registration number ``i``."""
        rng = rng_for("application", self.seed, i)
        oid = guid("application", self.seed, i)
        name = f"{APP_NAMES[i % len(APP_NAMES)]} {i:03d}"
        secret_days, cert_days = SECRET_DAYS[i % 10], CERT_DAYS[i % 10]
        secrets = [] if secret_days is None else [password_credential(f"{oid}/0", "CI secret", secret_days, rng)]
        if i % 10 == 1:  # a rotated secret beside the one about to expire
            secrets.append(password_credential(f"{oid}/1", "CI secret (rotated)", secret_days + 365, rng))
        certificates = [] if cert_days is None else [key_credential(f"{oid}/0", f"{name}", cert_days)]
        return {
            "id": oid,
            "appId": guid("appId", self.seed, i),
            "displayName": name,
            "createdDateTime": created or graph_time(TENANT_EPOCH - timedelta(days=rng.randint(60, 1500))),
            "description": None,
            "identifierUris": [],
            "notes": None,
            "publisherDomain": self.domain,
            "signInAudience": "AzureADMultipleOrgs" if i % 4 == 3 else "AzureADMyOrg",
            "tags": [],
            "passwordCredentials": secrets,
            "keyCredentials": certificates,
        }

    def _service_principal(self, oid: str, app_id: str, name: str, owner: str) -> dict[str, Any]:
        return {
            "id": oid,
            "accountEnabled": True,
            "appDisplayName": name,
            "appId": app_id,
            "appOwnerOrganizationId": owner,
            "displayName": name,
            "servicePrincipalNames": [app_id],
            "servicePrincipalType": "Application",
            "signInAudience": "AzureADMultipleOrgs",
            "tags": [],
            "passwordCredentials": [],
            "keyCredentials": [],
        }

    def make_service_principal(self, app: dict[str, Any], i: int) -> dict[str, Any]:
        """The service principal of this tenant's app ``app`` (number ``i``): some carry their own credentials."""
        sp = self._service_principal(guid("sp", self.seed, app["appId"]), app["appId"], app["displayName"], "")
        sp["appOwnerOrganizationId"] = self.tenant_id
        sp["signInAudience"] = app["signInAudience"]
        if i % 10 == 2:  # a SAML signing certificate, expiring soon
            sp["keyCredentials"] = [key_credential(f"{sp['id']}/0", app["displayName"], 15, usage="Sign")]
        if i % 10 == 8:  # an expired secret on the service principal itself
            sp["passwordCredentials"] = [
                password_credential(f"{sp['id']}/0", "legacy", -1, rng_for("sp secret", sp["id"]))
            ]
        return sp

    def add_application(self, rng: random.Random) -> dict[str, Any]:
        """Register a new app (mutate ``create``) with one secret valid for a year; its service principal too."""
        with self.lock:
            i = self.app_count
            self.app_count += 1
            app = self.make_application(i, created=graph_time(TENANT_EPOCH))
            app["passwordCredentials"] = [password_credential(f"{app['id']}/0", "CI secret", 365, rng)]
            self.applications.upsert(app)
            self.service_principals.upsert(self.make_service_principal(app, i))
            return app

    def add_secret(self, app_id: str, end_days: int, rng: random.Random) -> dict[str, Any]:
        """Add a client secret ending ``end_days`` after TENANT_EPOCH to an app (mutate ``update``, as
        ``addPassword`` does): delta reports only ``passwordCredentials`` changed."""
        with self.lock:
            app = self.applications.items[app_id]
            n = len(app["passwordCredentials"])
            secret = password_credential(f"{app_id}/added/{self.clock.now}/{n}", "added secret", end_days, rng)
            self.applications.upsert(
                dict(app, passwordCredentials=[*app["passwordCredentials"], secret]), fields=["passwordCredentials"]
            )
            return secret

    def remove_application(self, app_id: str) -> None:
        """Delete an app (soft: delta says ``changed``) and, as Entra does, its service principal in this tenant."""
        with self.lock:
            app = self.applications.items[app_id]
            for sp in list(self.service_principals.items.values()):
                if sp["appId"] == app["appId"]:
                    self.service_principals.remove(sp["id"], "deleted")
            self.applications.remove(app_id, "changed")

    # ---- devices ---------------------------------------------------------------------------------------------
    def make_device(self, i: int) -> dict[str, Any]:
        """The seeded device number ``i``."""
        rng = rng_for("device", self.seed, i)
        system, version, maker, model = OPERATING_SYSTEMS[i % len(OPERATING_SYSTEMS)]
        trust = TRUST_TYPES[2] if system in ("iOS", "Android") and i % 3 else TRUST_TYPES[i % 2]
        managed = trust != "Workplace" or i % 4 == 0
        registered = TENANT_EPOCH - timedelta(days=rng.randint(30, 900))
        return {
            "id": guid("device", self.seed, i),
            "accountEnabled": i % 9 != 4,
            "approximateLastSignInDateTime": graph_time(TENANT_EPOCH - timedelta(days=rng.randint(0, 120))),
            "deviceId": guid("deviceId", self.seed, i),
            "deviceOwnership": "Personal" if trust == "Workplace" else "Company",
            "displayName": f"{'DESKTOP' if system == 'Windows' else system.upper()}-{i:04d}",
            "isCompliant": (rng.random() < 0.85) if managed else None,
            "isManaged": managed,
            "manufacturer": maker,
            "model": model,
            "operatingSystem": system,
            "operatingSystemVersion": version,
            "physicalIds": [],
            "profileType": "RegisteredDevice",
            "registrationDateTime": graph_time(registered),
            "systemLabels": [],
            "trustType": trust,
        }

    def add_device(self) -> dict[str, Any]:
        """Register the next seeded device (mutate ``create``)."""
        with self.lock:
            device = self.make_device(self.device_count)
            self.device_count += 1
            self.devices.upsert(device)
            return device
