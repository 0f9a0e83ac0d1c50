"""Entra ID (identity platform) side of the emulator: discovery, token endpoint, app registrations.

App registrations live in `IdentityProvider.apps` (client id -> AppRegistration). Access tokens are HS256
JWTs signed with a per-process key; Graph routes call `validate_bearer` on every request.

Flows served (GRAPH_NOTES "Identity platform as msal 1.39.0 uses it"):
- client credentials with a client secret, or a certificate assertion (PS256 + `x5t#S256`, RS256 + `x5t`),
  verified against the app's registered certificates, or via `x5c` for subject-name/issuer (SN+I) apps;
- device code (`/oauth2/v2.0/devicecode`, polling; auto-approved after one `authorization_pending`
  unless turned off, or approved/declined via `POST /_emulator/devicelogin`), returning refresh token,
  id_token and client_info; the `refresh_token` grant;
- the App Service managed identity endpoint (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`, answers
  `expires_on`);
- AADSTS65001 (consent missing) for apps registered with `consented=False`.
`IdentityProvider.issued_tokens` keeps the latest access and refresh tokens handed out (leak checks in tests).
Admin: `POST /_emulator/identity` sets `token_lifetime` / `device_auto_approve`; `POST /_emulator/apps`
registers an app.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import string
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .router import SEG, GraphError, RawError, Request, Response, Router

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
    "ChannelMessage.Read.All",
    "TeamMember.Read.All",
    "ChannelMember.Read.All",
    "Organization.Read.All",
    "AuditLog.Read.All",
    "Reports.Read.All",
    "RoleManagement.Read.Directory",
    "Policy.Read.All",
    "Application.Read.All",
    "Device.Read.All",
    "Place.Read.All",
]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
CLOCK_SKEW = 300  # seconds of clock difference tolerated on assertions
ISSUED_TOKENS_KEPT = 1000  # access and refresh tokens remembered in IdentityProvider.issued_tokens


@dataclass
class AppRegistration:
    """One app registration: client id, secrets, certificates (PEM), granted application roles.

    `public`: allows public client flows (device code). `consented`: admin consent granted (else 65001).
    `trusted_subjects`: certificate subjects (RFC 4514) accepted via `x5c` (subject-name/issuer auth);
    `trusted_issuers`: CA certificates (PEM) one of which must have signed such a certificate (none: any).
    """

    client_id: str
    display_name: str
    secrets: list[str] = field(default_factory=list)
    certificates: list[bytes] = field(default_factory=list)
    roles: list[str] = field(default_factory=lambda: list(APP_ROLES))
    public: bool = False
    consented: bool = True
    trusted_subjects: list[str] = field(default_factory=list)
    trusted_issuers: list[bytes] = field(default_factory=list)


@dataclass
class DeviceFlow:
    """A pending device code sign-in."""

    client_id: str
    scope: str
    user_code: str
    expires_at: float
    polls: int = 0
    state: str = "pending"  # pending | approved | declined


@dataclass(frozen=True)
class SignedInUser:
    """The user every delegated flow signs in as."""

    oid: str
    upn: str
    name: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _det_uuid(*parts: object) -> str:
    return str(uuid.UUID(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]))


def _issued_by(leaf: x509.Certificate, ca_pem: bytes) -> bool:
    """True when the CA certificate `ca_pem` signed `leaf`."""
    try:
        leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _admin_body(req: Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        raise GraphError(400, "BadRequest", "body is not JSON") from None
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "body must be a JSON object")
    return body


def _json(doc: dict[str, Any], status: int = 200) -> Response:
    return Response(status, json.dumps(doc).encode(), content_type="application/json; charset=utf-8")


class IdentityProvider:
    """Tenant identity: app registrations, token issuing and validation."""

    def __init__(self, *, seed: int, tenant_id: str, tenant_domain: str, token_lifetime: int = 3599) -> None:
        det = uuid.UUID(hashlib.sha256(f"app:{seed}".encode()).hexdigest()[:32])
        self.seed = seed
        self.tenant_id = tenant_id
        self.tenant_domain = tenant_domain
        self.token_lifetime = token_lifetime
        self.device_auto_approve = True
        self._key = secrets.token_bytes(32)
        secret = "emu~" + _b64url(hashlib.sha256(f"secret:{seed}".encode()).digest())[:36]
        self.default_app = AppRegistration(str(det), "o365-pipeline", secrets=[secret])
        self.public_app = AppRegistration(_det_uuid("public-app", seed), "o365-pipeline (public)", public=True)
        # managed identities are service principals too: system-assigned, and one user-assigned
        self.msi_system = AppRegistration(_det_uuid("msi-system", seed), "o365-pipeline-host")
        self.msi_user = AppRegistration(_det_uuid("msi-user", seed), "o365-pipeline-uami")
        self.apps: dict[str, AppRegistration] = {
            a.client_id: a for a in (self.default_app, self.public_app, self.msi_system, self.msi_user)
        }
        self.identity_header = secrets.token_hex(16)
        self.user = SignedInUser(_det_uuid("signed-in-user", seed), f"admin@{tenant_domain}", "Emulator Admin")
        self._valid: dict[str, tuple[float, dict[str, Any]]] = {}
        self._device: dict[str, DeviceFlow] = {}
        self._refresh: dict[str, tuple[str, str]] = {}  # refresh token -> (client_id, scope)
        self._cert_exports: dict[str, str] = {}
        self._lock = threading.Lock()
        self.issued = 0
        # the latest tokens handed out (access and refresh), so tests can look for leaks of them
        self.issued_tokens: deque[str] = deque(maxlen=ISSUED_TOKENS_KEPT)

    # ---- registrations ------------------------------------------------------------------------
    def register_app(
        self,
        display_name: str,
        *,
        secret: str | None = None,
        certificate_pem: bytes | None = None,
        consented: bool = True,
        public: bool = False,
        trusted_subjects: list[str] | None = None,
        trusted_issuers: list[bytes] | None = None,
    ) -> AppRegistration:
        """Add an app registration (random client id) and return it."""
        app = AppRegistration(
            str(uuid.uuid4()),
            display_name,
            secrets=[secret] if secret else [],
            certificates=[certificate_pem] if certificate_pem else [],
            consented=consented,
            public=public,
            trusted_subjects=list(trusted_subjects or []),
            trusted_issuers=list(trusted_issuers or []),
        )
        with self._lock:
            self.apps[app.client_id] = app
        return app

    # ---- tokens -------------------------------------------------------------------------------
    def issue_token(self, app: AppRegistration, resource: str, user: SignedInUser | None = None) -> tuple[str, int]:
        """A signed access token for the app (app-only, or delegated for `user`) and its lifetime."""
        now = int(time.time())
        life = int(self.token_lifetime)
        claims: dict[str, Any] = {
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
        if user is not None:
            claims.update(idtyp="user", oid=user.oid, upn=user.upn, name=user.name, scp=" ".join(APP_ROLES))
            del claims["roles"]
        self.issued += 1
        token = self._sign(claims)
        self.issued_tokens.append(token)
        return token, life

    def _sign(self, claims: dict[str, Any]) -> str:
        head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64url(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

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
            claims = json.loads(_b64url_decode(parts[1]))
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

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token (the next silent refresh fails with AADSTS70000)."""
        with self._lock:
            self._refresh.clear()

    # ---- tenant lookups -----------------------------------------------------------------------
    def known_tenant(self, tenant: str) -> bool:
        """True for the tenant GUID, its domain, or the 'organizations'/'common' aliases."""
        return tenant.lower() in (self.tenant_id, self.tenant_domain.lower(), "organizations", "common")

    # ---- client assertion -----------------------------------------------------------------------
    def verify_assertion(self, app: AppRegistration, assertion: str, audiences: set[str]) -> str | None:
        """Check a client assertion JWT for `app`. Returns None when valid, else "code|message"."""
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(body_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, binascii.Error):
            return "50027|Invalid JWT token. Token format not valid."
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return "50027|Invalid JWT token. Token format not valid."
        alg = header.get("alg")
        if alg == "PS256":
            thumb_field, digest = "x5t#S256", hashes.SHA256()
        elif alg == "RS256":
            thumb_field, digest = "x5t", hashes.SHA1()  # noqa: S303 - the protocol's legacy thumbprint
        else:
            return f"5002738|Invalid JWT token. '{alg}' is not a supported signature algorithm."
        try:
            thumbprint = _b64url_decode(str(header.get(thumb_field, "")))
        except (ValueError, binascii.Error):
            thumbprint = b""
        cert = self._assertion_certificate(app, header, thumbprint, digest)
        if cert is None:
            return (
                f"700027|The certificate with identifier used to sign the client assertion is not registered on "
                f"application. [Reason - The key was not found., Thumbprint of key used by client: "
                f"'{thumbprint.hex().upper()}', Please visit the Azure Portal, Graph Explorer or directly use MS "
                f"Graph to see configured keys for app Id '{app.client_id}'.]"
            )
        public_key = cert.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            return "700027|Client assertion failed signature validation. The key is not an RSA key."
        scheme = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            if alg == "PS256"
            else padding.PKCS1v15()
        )
        try:
            public_key.verify(signature, f"{head_b64}.{body_b64}".encode(), scheme, hashes.SHA256())
        except InvalidSignature:
            return "700027|Client assertion failed signature validation."
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return "700021|Client assertion application identifier doesn't match 'client_id' parameter."
        aud = claims.get("aud")
        if aud not in audiences:
            return f"700212|Client assertion audience claim does not match Realm issuer. Audience: '{aud}'."
        now = time.time()
        try:
            exp, iat, nbf = float(claims["exp"]), float(claims.get("iat", now)), float(claims.get("nbf", now))
        except (KeyError, TypeError, ValueError):
            return "50027|Invalid JWT token. No valid expiration claim."
        if exp + CLOCK_SKEW < now or iat - CLOCK_SKEW > now or nbf - CLOCK_SKEW > now:
            return "700024|Client assertion is not within its valid time range."
        return None

    @staticmethod
    def _assertion_certificate(
        app: AppRegistration, header: dict[str, Any], thumbprint: bytes, digest: hashes.HashAlgorithm
    ) -> x509.Certificate | None:
        for pem in app.certificates:
            cert = x509.load_pem_x509_certificate(pem)
            if thumbprint and hmac.compare_digest(cert.fingerprint(digest), thumbprint):
                return cert
        chain = header.get("x5c")
        if not app.trusted_subjects or not isinstance(chain, list) or not chain:
            return None
        try:
            leaf = x509.load_der_x509_certificate(base64.b64decode("".join(str(chain[0]).split())))
        except (ValueError, binascii.Error):
            return None
        subject = leaf.subject.rfc4514_string()
        if subject not in app.trusted_subjects or not hmac.compare_digest(leaf.fingerprint(digest), thumbprint):
            return None
        now = dt.datetime.now(dt.UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return None
        if app.trusted_issuers and not any(_issued_by(leaf, pem) for pem in app.trusted_issuers):
            return None
        return leaf

    # ---- user tokens ----------------------------------------------------------------------------
    def _user_tokens(self, app: AppRegistration, scope: str, issuer: str) -> dict[str, Any]:
        resources = [s for s in scope.split() if s not in OIDC_SCOPES]
        resource = resources[0].rsplit("/", 1)[0] if resources and "://" in resources[0] else GRAPH_RESOURCES[0]
        access, life = self.issue_token(app, resource, self.user)
        refresh = "rt." + secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[refresh] = (app.client_id, scope)
        self.issued_tokens.append(refresh)
        now = int(time.time())
        id_token = self._sign(
            {
                "aud": app.client_id,
                "iss": issuer,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": self.user.name,
                "oid": self.user.oid,
                "preferred_username": self.user.upn,
                "sub": _det_uuid("sub", self.user.oid, app.client_id),
                "tid": self.tenant_id,
                "ver": "2.0",
            }
        )
        client_info = _b64url(json.dumps({"uid": self.user.oid, "utid": self.tenant_id}).encode())
        return {
            "token_type": "Bearer",
            "scope": " ".join(resources) or f"{GRAPH_RESOURCES[0]}/.default",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "client_info": client_info,
        }

    # ---- routes -------------------------------------------------------------------------------
    def register(self, router: Router, emu: Emulator) -> None:
        """Add the identity endpoints (and the /_emulator identity admin routes) to the router."""

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

        def app_or_error(client_id: str) -> AppRegistration:
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
            return app

        def consent_or_error(app: AppRegistration) -> None:
            if not app.consented:
                raise aad_error(
                    400,
                    "invalid_grant",
                    65001,
                    f"The user or administrator has not consented to use the application with ID "
                    f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization request "
                    "for this user and resource.",
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
            return _json(doc)

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
            return _json(doc)

        def form_of(req: Request) -> dict[str, str]:
            return dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))

        def client_credentials(tenant: str, form: dict[str, str], app: AppRegistration) -> Response:
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
            assertion = form.get("client_assertion")
            if assertion is not None and form.get("client_assertion_type") == JWT_BEARER:
                audiences = {
                    f"{emu.base_url}/{t}/oauth2/v2.0/token" for t in (tenant, self.tenant_id, self.tenant_domain)
                }
                problem = self.verify_assertion(app, assertion, audiences)
                if problem is not None:
                    code, text = problem.split("|", 1)
                    raise aad_error(400, "invalid_client", int(code), text)
            elif secret is None:
                raise aad_error(
                    400,
                    "invalid_client",
                    7000216,
                    "'client_assertion', 'client_secret' or 'request' is required for the "
                    "'client_credentials' grant type.",
                )
            elif not any(hmac.compare_digest(secret.encode(), s.encode()) for s in app.secrets):
                raise aad_error(
                    400,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                    f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
                )
            consent_or_error(app)
            access, life = self.issue_token(app, resources[0][: -len("/.default")])
            return _json({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": access})

        def device_code_grant(form: dict[str, str], app: AppRegistration) -> Response:
            code = form.get("device_code") or form.get("code") or ""
            with self._lock:
                flow = self._device.get(code)
                if flow is not None and flow.client_id != app.client_id:
                    flow = None
                if flow is not None:
                    flow.polls += 1
                    if flow.state == "pending" and self.device_auto_approve and flow.polls > 1:
                        flow.state = "approved"
                    if flow.state != "pending" or flow.expires_at < time.time():
                        del self._device[code]
            if flow is None:
                raise aad_error(400, "invalid_grant", 70000, "The provided value for the 'device_code' is not valid.")
            if flow.expires_at < time.time():
                raise aad_error(400, "expired_token", 70020, "The provided value for the 'device_code' has expired.")
            if flow.state == "declined":
                raise aad_error(400, "authorization_declined", 70000, "The user declined the sign-in request.")
            if flow.state == "pending":
                raise aad_error(
                    400,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            consent_or_error(app)
            return _json(self._user_tokens(app, flow.scope, f"{emu.base_url}/{self.tenant_id}/v2.0"))

        def refresh_grant(form: dict[str, str], app: AppRegistration) -> Response:
            with self._lock:
                held = self._refresh.get(form.get("refresh_token", ""))
            if held is None or held[0] != app.client_id:
                raise aad_error(
                    400,
                    "invalid_grant",
                    70000,
                    "Provided grant is invalid or malformed. The refresh token was revoked or is not valid.",
                )
            consent_or_error(app)
            scope = form.get("scope") or held[1]
            return _json(self._user_tokens(app, scope, f"{emu.base_url}/{self.tenant_id}/v2.0"))

        def token(req: Request) -> Response:
            tenant = req.params["tenant"]
            tenant_or_error(tenant)
            form = form_of(req)
            grant = form.get("grant_type", "")
            client_id = form.get("client_id", "")
            if not client_id and req.header("authorization").lower().startswith("basic "):
                try:
                    raw = base64.b64decode(req.header("authorization")[6:]).decode()
                    client_id, form["client_secret"] = raw.split(":", 1)
                except ValueError:
                    client_id = ""
            if grant not in ("client_credentials", DEVICE_CODE_GRANT, "refresh_token"):
                raise aad_error(
                    400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
                )
            app = app_or_error(client_id)
            if grant == "client_credentials":
                return client_credentials(tenant, form, app)
            if grant == DEVICE_CODE_GRANT:
                return device_code_grant(form, app)
            return refresh_grant(form, app)

        def devicecode(req: Request) -> Response:
            tenant_or_error(req.params["tenant"])
            form = form_of(req)
            app = app_or_error(form.get("client_id", ""))
            if not app.public:
                raise aad_error(
                    400,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or "
                    "'client_secret'. (The app does not allow public client flows.)",
                )
            user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
            device_code = secrets.token_urlsafe(32)
            life = 900
            with self._lock:
                self._device[device_code] = DeviceFlow(
                    app.client_id, form.get("scope", ""), user_code, time.time() + life
                )
            uri = f"{emu.base_url}/devicelogin"
            return _json(
                {
                    "user_code": user_code,
                    "device_code": device_code,
                    "verification_uri": uri,
                    "expires_in": life,
                    "interval": 1,
                    "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{user_code} to authenticate.",
                }
            )

        def devicelogin_page(req: Request) -> Response:
            text = 'Emulator device login: POST /_emulator/devicelogin {"user_code": ..., "action": "approve"}'
            return Response(200, text.encode(), content_type="text/plain; charset=utf-8")

        def devicelogin_admin(req: Request) -> Response:
            body = _admin_body(req)
            action = str(body.get("action", "approve"))
            with self._lock:
                flows = [f for f in self._device.values() if f.user_code == str(body.get("user_code", "")).upper()]
                for flow in flows:
                    flow.state = "declined" if action == "decline" else "approved"
            if not flows:
                return emu.json_response({"error": "unknown user_code"}, 404)
            return emu.json_response({"user_code": flows[0].user_code, "state": flows[0].state})

        def managed_identity(req: Request) -> Response:
            if not hmac.compare_digest(req.header("x-identity-header"), self.identity_header):
                return _json({"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong."}, 401)
            resource = req.query.get("resource", "").rstrip("/")
            if resource not in GRAPH_RESOURCES:
                return _json({"statusCode": 400, "message": f"Resource '{resource}' is not supported."}, 400)
            client_id = req.query.get("client_id")
            if client_id and client_id != self.msi_user.client_id:
                return _json(
                    {"statusCode": 400, "message": "Unable to load the proper Managed Identity. (unknown client_id)"},
                    400,
                )
            principal = self.msi_user if client_id else self.msi_system
            access, life = self.issue_token(principal, resource)
            return _json(
                {
                    "access_token": access,
                    "expires_on": str(int(time.time()) + life),
                    "resource": resource,
                    "token_type": "Bearer",
                    "client_id": principal.client_id,
                }
            )

        def identity_admin(req: Request) -> Response:
            body = _admin_body(req)
            if "token_lifetime" in body:
                self.token_lifetime = int(body["token_lifetime"])
            if "device_auto_approve" in body:
                self.device_auto_approve = bool(body["device_auto_approve"])
            return emu.json_response(
                {"token_lifetime": self.token_lifetime, "device_auto_approve": self.device_auto_approve}
            )

        def apps_admin(req: Request) -> Response:
            body = _admin_body(req)
            secret = str(body.get("secret") or "emu~" + secrets.token_urlsafe(24))
            app = self.register_app(
                str(body.get("display_name", "test app")),
                secret=secret,
                consented=bool(body.get("consented", True)),
                public=bool(body.get("public", False)),
            )
            return emu.json_response({"client_id": app.client_id, "secret": secret, "consented": app.consented}, 201)

        router.add(
            "GET",
            rf"/(?P<tenant>{SEG})/v2\.0/\.well-known/openid-configuration",
            openid,
            name="openid",
            kind="identity",
        )
        router.add("GET", r"/common/discovery/instance", instance, name="instance_discovery", kind="identity")
        router.add("POST", rf"/(?P<tenant>{SEG})/oauth2/v2\.0/token", token, name="token", kind="identity")
        router.add(
            "POST", rf"/(?P<tenant>{SEG})/oauth2/v2\.0/devicecode", devicecode, name="devicecode", kind="identity"
        )
        router.add("GET", r"/devicelogin", devicelogin_page, name="devicelogin", kind="identity")
        router.add("GET", r"/msi/token", managed_identity, name="managed_identity", kind="identity")
        router.add("POST", r"/_emulator/devicelogin", devicelogin_admin, name="admin_devicelogin", kind="admin")
        router.add("POST", r"/_emulator/identity", identity_admin, name="admin_identity", kind="admin")
        router.add("POST", r"/_emulator/apps", apps_admin, name="admin_apps", kind="admin")

    # ---- exports ------------------------------------------------------------------------------
    def _certificate_file(self, state_dir: Path) -> str:
        """Generate a certificate for the default app once, register it, write key+cert PEM (0600)."""
        key = str(state_dir)
        if key in self._cert_exports:
            return self._cert_exports[key]
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o365-pipeline emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "o365-pipeline app"),
            ]
        )
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(private_key, hashes.SHA256())
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "app-cert.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem + cert_pem)
        os.chmod(path, 0o600)
        with self._lock:
            self.default_app.certificates.append(cert_pem)
        self._cert_exports[key] = str(path)
        return str(path)

    def exports_for_scheme(self, scheme: str, *, base_url: str, ca_path: str | Path, state_dir: Path) -> dict[str, str]:
        """The O365_* settings (and for AzureMSI the App Service variables) that reach this emulator."""
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
        elif scheme == "AzureServicePrincipalCert":
            env["O365_OAUTH_CLIENT_ID"] = self.default_app.client_id
            env["O365_OAUTH_JWT_CERT"] = self._certificate_file(Path(state_dir))
            env["O365_OAUTH_JWT_CERT_TYPE"] = "PEMKEY_FILE"
        elif scheme == "AzureMSI":
            env["IDENTITY_ENDPOINT"] = f"{base_url}/msi/token"
            env["IDENTITY_HEADER"] = self.identity_header
        elif scheme == "AzureAD":
            env["O365_OAUTH_CLIENT_ID"] = self.public_app.client_id
            env["O365_TOKEN_CACHE"] = str(Path(state_dir) / "token_cache.json")
        else:
            raise ValueError(
                f"O365_AUTH_SCHEME: unknown scheme {scheme!r} (AzureAD, AzureMSI, AzureServicePrincipal, "
                "AzureServicePrincipalCert)"
            )
        return env


def exports_for_scheme(
    scheme: str, *, identity: IdentityProvider, base_url: str, ca_path: str | Path, state_dir: Path
) -> dict[str, str]:
    """Module-level form of IdentityProvider.exports_for_scheme, used by EmulatorServer.env() and the CLI."""
    return identity.exports_for_scheme(scheme, base_url=base_url, ca_path=ca_path, state_dir=state_dir)
