"""O365_* settings: names, defaults, the national cloud table and validation into `AuthSettings`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import O365AuthError

SCHEMES = ("AzureAD", "AzureMSI", "AzureServicePrincipal", "AzureServicePrincipalCert")
DEFAULT_SCHEME = "AzureServicePrincipal"
CERT_TYPES = ("PEMKEY_BLOB", "PEMKEY_FILE", "PFXFILE", "PFXBLOB")
# "Microsoft Graph Command Line Tools": Microsoft's multi-tenant public client that allows device code.
DEFAULT_PUBLIC_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
# Tenant used by the AzureAD scheme when O365_AZURE_TENANT is unset: any work or school account.
DEFAULT_PUBLIC_TENANT = "organizations"

# resource field -> environment variable (CONTRACT section 3).
ENV_NAMES: dict[str, str] = {
    "auth_scheme": "O365_AUTH_SCHEME",
    "azure_tenant": "O365_AZURE_TENANT",
    "oauth_client_id": "O365_OAUTH_CLIENT_ID",
    "oauth_client_secret": "O365_OAUTH_CLIENT_SECRET",
    "oauth_jwt_cert": "O365_OAUTH_JWT_CERT",
    "oauth_jwt_cert_type": "O365_OAUTH_JWT_CERT_TYPE",
    "oauth_jwt_cert_password": "O365_OAUTH_JWT_CERT_PASSWORD",
    "oauth_jwt_cert_subject": "O365_OAUTH_JWT_CERT_SUBJECT",
    "msi_client_id": "O365_MSI_CLIENT_ID",
    "azure_environment": "O365_AZURE_ENVIRONMENT",
    "graph_url": "O365_GRAPH_URL",
    "login_url": "O365_LOGIN_URL",
    "ca_bundle": "O365_CA_BUNDLE",
    "token_cache": "O365_TOKEN_CACHE",
}
SECRET_FIELDS = ("oauth_client_secret", "oauth_jwt_cert", "oauth_jwt_cert_password")


@dataclass(frozen=True)
class CloudHosts:
    """Login and Graph hosts of one national cloud."""

    login_host: str
    graph_host: str


CLOUDS: dict[str, CloudHosts] = {
    "GLOBAL": CloudHosts("login.microsoftonline.com", "graph.microsoft.com"),
    "USGOVT": CloudHosts("login.microsoftonline.us", "graph.microsoft.us"),
    "USGOVTDOD": CloudHosts("login.microsoftonline.us", "dod-graph.microsoft.us"),
    "CHINA": CloudHosts("login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"),
}


@dataclass(frozen=True)
class GraphEndpoints:
    """Where Graph and the identity platform are, and the token scope.

    `graph_root` has no `/v1.0` (e.g. `https://graph.microsoft.com`); `login_host` is the authority host
    URL (e.g. `https://login.microsoftonline.com`); `scope` is the Graph `.default` scope of the cloud,
    unchanged by the URL overrides; `resource` is the same without `/.default` (managed identity).
    """

    graph_root: str
    login_host: str
    scope: str
    resource: str


@dataclass(frozen=True)
class AuthSettings:
    """Validated settings; secrets are excluded from repr."""

    scheme: str
    tenant: str
    client_id: str
    endpoints: GraphEndpoints
    ca_bundle: str | None
    token_cache: Path
    cert_type: str
    cert_subject: str
    msi_client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    cert: str | None = field(default=None, repr=False)
    cert_password: str | None = field(default=None, repr=False)

    @property
    def authority(self) -> str:
        """The msal authority URL, `https://HOST/{tenant}`."""
        return f"{self.endpoints.login_host}/{self.tenant}"

    def secrets(self) -> tuple[str | None, ...]:
        """Secret values, for redaction."""
        return (self.client_secret, self.cert, self.cert_password)


def default_token_cache_path(environ: dict[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/o365-pipeline/token_cache.json` (default `~/.config/...`)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "o365-pipeline" / "token_cache.json"


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _https_root(value: str, setting: str) -> str:
    root = value.strip().rstrip("/")
    if not root.lower().startswith("https://") or len(root) <= len("https://"):
        raise O365AuthError(f"{setting} must be an https:// URL, got {root!r}", setting=setting)
    if root.lower().endswith("/v1.0"):
        root = root[: -len("/v1.0")]
    return root


def parse_scheme(value: str | None) -> str:
    """Normalize the scheme name (case-insensitive), or fail listing the valid ones."""
    raw = _clean(value) or DEFAULT_SCHEME
    for scheme in SCHEMES:
        if scheme.lower() == raw.lower():
            return scheme
    raise O365AuthError(
        f"unknown auth scheme {raw!r}: O365_AUTH_SCHEME must be one of {', '.join(SCHEMES)}",
        setting="O365_AUTH_SCHEME",
    )


def resolve_endpoints(azure_environment: str | None, graph_url: str | None, login_url: str | None) -> GraphEndpoints:
    """Endpoints from O365_AZURE_ENVIRONMENT and the O365_GRAPH_URL / O365_LOGIN_URL overrides."""
    env = (_clean(azure_environment) or "GLOBAL").upper()
    if env not in CLOUDS:
        raise O365AuthError(
            f"unknown cloud {env!r}: O365_AZURE_ENVIRONMENT must be one of {', '.join(CLOUDS)}",
            setting="O365_AZURE_ENVIRONMENT",
        )
    hosts = CLOUDS[env]
    graph = f"https://{hosts.graph_host}"
    graph_root = _https_root(graph_url, "O365_GRAPH_URL") if _clean(graph_url) else graph
    login_host = _https_root(login_url, "O365_LOGIN_URL") if _clean(login_url) else f"https://{hosts.login_host}"
    return GraphEndpoints(graph_root=graph_root, login_host=login_host, scope=f"{graph}/.default", resource=graph)


def _require(value: str | None, setting: str, scheme: str, what: str) -> str:
    if not value:
        raise O365AuthError(f"{setting} is not set: the {scheme} scheme needs the {what}", setting=setting)
    return value


def validate_settings(
    *,
    auth_scheme: str | None = None,
    azure_tenant: str | None = None,
    oauth_client_id: str | None = None,
    oauth_client_secret: str | None = None,
    oauth_jwt_cert: str | None = None,
    oauth_jwt_cert_type: str | None = None,
    oauth_jwt_cert_password: str | None = None,
    oauth_jwt_cert_subject: str | None = None,
    msi_client_id: str | None = None,
    azure_environment: str | None = None,
    graph_url: str | None = None,
    login_url: str | None = None,
    ca_bundle: str | None = None,
    token_cache: str | None = None,
) -> AuthSettings:
    """Check the settings for the chosen scheme; raises O365AuthError naming the first bad setting."""
    scheme = parse_scheme(auth_scheme)
    endpoints = resolve_endpoints(azure_environment, graph_url, login_url)
    tenant = _clean(azure_tenant)
    client_id = _clean(oauth_client_id)
    secret = oauth_client_secret if _clean(oauth_client_secret) else None
    cert = oauth_jwt_cert if _clean(oauth_jwt_cert) else None
    cert_type = (_clean(oauth_jwt_cert_type) or "PEMKEY_BLOB").upper()
    if scheme == "AzureAD":
        tenant = tenant or DEFAULT_PUBLIC_TENANT
        client_id = client_id or DEFAULT_PUBLIC_CLIENT_ID
    elif scheme in ("AzureServicePrincipal", "AzureServicePrincipalCert"):
        tenant = _require(tenant, "O365_AZURE_TENANT", scheme, "tenant id or domain")
        client_id = _require(client_id, "O365_OAUTH_CLIENT_ID", scheme, "application (client) id")
        if scheme == "AzureServicePrincipal":
            _require(secret, "O365_OAUTH_CLIENT_SECRET", scheme, "client secret")
        else:
            _require(cert, "O365_OAUTH_JWT_CERT", scheme, "certificate store (blob or file path)")
            if cert_type not in CERT_TYPES:
                raise O365AuthError(
                    f"unknown certificate store type {cert_type!r}: O365_OAUTH_JWT_CERT_TYPE must be one of "
                    f"{', '.join(CERT_TYPES)}",
                    setting="O365_OAUTH_JWT_CERT_TYPE",
                )
    bundle = _clean(ca_bundle)
    if bundle is not None:
        path = Path(bundle).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise O365AuthError(f"O365_CA_BUNDLE {bundle!r} is not a readable file", setting="O365_CA_BUNDLE")
        if b"-----BEGIN CERTIFICATE-----" not in path.read_bytes():
            raise O365AuthError(f"O365_CA_BUNDLE {bundle!r} holds no PEM certificate", setting="O365_CA_BUNDLE")
        bundle = str(path.resolve())
    cache = Path(_clean(token_cache) or default_token_cache_path()).expanduser()
    return AuthSettings(
        scheme=scheme,
        tenant=tenant or "",
        client_id=client_id or "",
        endpoints=endpoints,
        ca_bundle=bundle,
        token_cache=cache,
        cert_type=cert_type,
        cert_subject=_clean(oauth_jwt_cert_subject) or "*",
        msi_client_id=_clean(msi_client_id),
        client_secret=secret,
        cert=cert,
        cert_password=oauth_jwt_cert_password or None,
    )
