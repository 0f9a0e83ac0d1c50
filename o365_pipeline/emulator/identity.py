"""Entra ID (identity platform) side of the emulator: discovery, token endpoint, app registrations.

App registrations live in `IdentityProvider.apps` (client id -> AppRegistration). Tokens are HS256
JWTs signed with a per-process key; Graph routes call `validate_bearer` on every request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .router import SEG, RawError, Request, Response, Router

if TYPE_CHECKING:
    from .core import Emulator

GRAPH_RESOURCES = (
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "00000003-0000-0000-c000-000000000000",
)
APP_ROLES = [
    "User.Read.All",
    "Group.Read.All",
    "Mail.Read",
    "Calendars.Read",
    "Contacts.Read",
    "Files.Read.All",
    "Sites.Read.All",
    "Tasks.Read.All",
    "Team.ReadBasic.All",
    "Channel.ReadBasic.All",
    "Organization.Read.All",
    "AuditLog.Read.All",
    "Reports.Read.All",
]


@dataclass
class AppRegistration:
    """One app registration: client id, secrets, certificates (PEM), granted application roles."""

    client_id: str
    display_name: str
    secrets: list[str] = field(default_factory=list)
    certificates: list[bytes] = field(default_factory=list)
    roles: list[str] = field(default_factory=lambda: list(APP_ROLES))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdentityProvider:
    """Tenant identity: app registrations, token issuing and validation."""

    def __init__(self, *, seed: int, tenant_id: str, tenant_domain: str, token_lifetime: int = 3599) -> None:
        det = uuid.UUID(hashlib.sha256(f"app:{seed}".encode()).hexdigest()[:32])
        self.tenant_id = tenant_id
        self.tenant_domain = tenant_domain
        self.token_lifetime = token_lifetime
        self._key = secrets.token_bytes(32)
        secret = "emu~" + _b64url(hashlib.sha256(f"secret:{seed}".encode()).digest())[:36]
        self.default_app = AppRegistration(str(det), "o365-pipeline", secrets=[secret])
        self.apps: dict[str, AppRegistration] = {self.default_app.client_id: self.default_app}
        self._valid: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.issued = 0

    # ---- tokens -------------------------------------------------------------------------------
    def issue_token(self, app: AppRegistration, resource: str) -> tuple[str, int]:
        """A signed access token for the app and resource, and its lifetime in seconds."""
        now = int(time.time())
        life = int(self.token_lifetime)
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + life,
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)),
            "roles": app.roles,
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(12),
            "ver": "1.0",
        }
        head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64url(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        self.issued += 1
        return f"{head}.{body}.{sig}", life

    def validate_bearer(self, authorization: str) -> tuple[dict[str, Any] | None, str]:
        """Check an Authorization header. Returns (claims, "") or (None, reason)."""
        if not authorization.lower().startswith("bearer "):
            return None, "missing"
        token = authorization[7:].strip()
        hit = self._valid.get(token)
        now = time.time()
        if hit is not None:
            return (hit[1], "") if hit[0] > now else (None, "expired")
        parts = token.split(".")
        if len(parts) != 3:
            return None, "invalid"
        want = _b64url(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return None, "invalid"
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return None, "invalid"
        if claims.get("aud") not in GRAPH_RESOURCES and not str(claims.get("aud", "")).startswith("https://127."):
            return None, "audience"
        with self._lock:
            if len(self._valid) > 10000:
                self._valid.clear()
            self._valid[token] = (float(claims["exp"]), claims)
        if claims["exp"] <= now:
            return None, "expired"
        return claims, ""

    # ---- tenant lookups -----------------------------------------------------------------------
    def known_tenant(self, tenant: str) -> bool:
        """True for the tenant GUID, its domain, or the 'organizations'/'common' aliases."""
        return tenant.lower() in (self.tenant_id, self.tenant_domain.lower(), "organizations", "common")

    # ---- routes -------------------------------------------------------------------------------
    def register(self, router: Router, emu: Emulator) -> None:
        """Add the identity endpoints to the router."""

        def aad_error(status: int, error: str, code: int, text: str) -> RawError:
            trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            desc = f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}"
            body = {
                "error": error,
                "error_description": desc,
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": corr,
                "error_uri": f"{emu.base_url}/error?code={code}",
            }
            return RawError(status, body)

        def tenant_or_error(tenant: str) -> None:
            if not self.known_tenant(tenant):
                raise aad_error(
                    400,
                    "invalid_tenant" if tenant else "invalid_request",
                    90002,
                    f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                    "signing into the correct cloud. Check with your subscription administrator, this may "
                    "happen if there are no active subscriptions for the tenant.",
                )

        def openid(req: Request) -> Response:
            tenant = req.params["tenant"]
            tenant_or_error(tenant)
            base = emu.base_url
            tid = self.tenant_id
            doc = {
                "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/oidc/userinfo",
                "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "oid"],
                "kerberos_endpoint": f"{base}/{tid}/kerberos",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
            return Response(200, json.dumps(doc).encode(), content_type="application/json; charset=utf-8")

        def instance(req: Request) -> Response:
            host = emu.base_url.split("://", 1)[1]
            tenant = self.tenant_id
            auth = req.query.get("authorization_endpoint", "")
            parts = auth.split("/")
            if len(parts) > 3 and parts[3]:
                tenant = parts[3]
            doc = {
                "tenant_discovery_endpoint": f"{emu.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
            return Response(200, json.dumps(doc).encode(), content_type="application/json; charset=utf-8")

        def token(req: Request) -> Response:
            tenant = req.params["tenant"]
            tenant_or_error(tenant)
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
            grant = form.get("grant_type", "")
            client_id = form.get("client_id", "")
            if not client_id and req.header("authorization").lower().startswith("basic "):
                try:
                    raw = base64.b64decode(req.header("authorization")[6:]).decode()
                    client_id, form["client_secret"] = raw.split(":", 1)
                except ValueError:
                    client_id = ""
            if grant != "client_credentials":
                raise aad_error(
                    400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
                )
            app = self.apps.get(client_id)
            if app is None:
                raise aad_error(
                    400,
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found in the directory "
                    f"'{self.tenant_domain}'. This can happen if the application has not been installed by the "
                    "administrator of the tenant or consented to by any user in the tenant. You may have sent "
                    "your authentication request to the wrong tenant.",
                )
            scope = form.get("scope", "")
            resources = [s for s in scope.split() if s.endswith("/.default")]
            if not resources:
                raise aad_error(
                    400,
                    "invalid_scope",
                    1002012,
                    f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                    "scope value with /.default suffixed to the resource identifier (application ID URI).",
                )
            secret = form.get("client_secret")
            if secret is None:
                raise aad_error(
                    400,
                    "invalid_client",
                    7000216,
                    "'client_assertion', 'client_secret' or 'request' is required for the "
                    "'client_credentials' grant type.",
                )
            if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in app.secrets):
                raise aad_error(
                    400,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                    f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
                )
            access, life = self.issue_token(app, resources[0][: -len("/.default")])
            doc = {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": access}
            return Response(200, json.dumps(doc).encode(), content_type="application/json; charset=utf-8")

        router.add(
            "GET",
            rf"/(?P<tenant>{SEG})/v2\.0/\.well-known/openid-configuration",
            openid,
            name="openid",
            kind="identity",
        )
        router.add("GET", r"/common/discovery/instance", instance, name="instance_discovery", kind="identity")
        router.add("POST", rf"/(?P<tenant>{SEG})/oauth2/v2\.0/token", token, name="token", kind="identity")

    # ---- exports ------------------------------------------------------------------------------
    def exports_for_scheme(self, scheme: str, *, base_url: str, ca_path: str | Path, state_dir: Path) -> dict[str, str]:
        """The O365_* settings that reach this emulator with the given auth scheme."""
        env = {
            "O365_AUTH_SCHEME": scheme,
            "O365_AZURE_TENANT": self.tenant_id,
            "O365_GRAPH_URL": base_url,
            "O365_LOGIN_URL": base_url,
            "O365_CA_BUNDLE": str(ca_path),
        }
        if scheme == "AzureServicePrincipal":
            env["O365_OAUTH_CLIENT_ID"] = self.default_app.client_id
            env["O365_OAUTH_CLIENT_SECRET"] = self.default_app.secrets[0]
            return env
        raise ValueError(
            f"O365_AUTH_SCHEME: scheme {scheme!r} is not supported by the emulator yet (use AzureServicePrincipal)"
        )


def exports_for_scheme(
    scheme: str, *, identity: IdentityProvider, base_url: str, ca_path: str | Path, state_dir: Path
) -> dict[str, str]:
    """Module-level form of IdentityProvider.exports_for_scheme, used by EmulatorServer.env() and the CLI."""
    return identity.exports_for_scheme(scheme, base_url=base_url, ca_path=ca_path, state_dir=state_dir)
