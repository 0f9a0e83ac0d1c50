"""`O365Auth`: the Dagster resource that hands out Graph access tokens for the configured scheme."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from .schemes import InteractiveScheme
from .settings import ENV_NAMES, AuthSettings, GraphEndpoints
from .tokens import GraphAuth


def _plain(value: str | None) -> str | None:
    """The value of a field; an unresolved `EnvVar` (resource used outside a run) is read from the env."""
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    return value


class O365Auth(dg.ConfigurableResource):
    """Microsoft 365 authentication (CData's scheme names), msal doing the protocol work.

    Every field mirrors an `O365_*` setting (CONTRACT section 3). Secret fields never appear in repr.
    """

    auth_scheme: str | None = Field(default=None, description="O365_AUTH_SCHEME")
    azure_tenant: str | None = Field(default=None, description="O365_AZURE_TENANT")
    oauth_client_id: str | None = Field(default=None, description="O365_OAUTH_CLIENT_ID")
    oauth_client_secret: str | None = Field(default=None, repr=False, description="O365_OAUTH_CLIENT_SECRET")
    oauth_jwt_cert: str | None = Field(default=None, repr=False, description="O365_OAUTH_JWT_CERT")
    oauth_jwt_cert_type: str | None = Field(default=None, description="O365_OAUTH_JWT_CERT_TYPE")
    oauth_jwt_cert_password: str | None = Field(default=None, repr=False, description="O365_OAUTH_JWT_CERT_PASSWORD")
    oauth_jwt_cert_subject: str | None = Field(default=None, description="O365_OAUTH_JWT_CERT_SUBJECT")
    msi_client_id: str | None = Field(default=None, description="O365_MSI_CLIENT_ID")
    azure_environment: str | None = Field(default=None, description="O365_AZURE_ENVIRONMENT")
    graph_url: str | None = Field(default=None, description="O365_GRAPH_URL")
    login_url: str | None = Field(default=None, description="O365_LOGIN_URL")
    ca_bundle: str | None = Field(default=None, description="O365_CA_BUNDLE")
    token_cache: str | None = Field(default=None, description="O365_TOKEN_CACHE")

    _core: GraphAuth | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> O365Auth:
        """Plain values from the O365_* environment variables (for the CLI)."""
        env = os.environ if environ is None else environ
        return cls(**{name: env.get(var) or None for name, var in ENV_NAMES.items()})

    @classmethod
    def from_dagster_env(cls) -> O365Auth:
        """`EnvVar(...)` for every O365_* setting set now (unset ones keep defaults), for Definitions."""
        values: dict[str, Any] = {name: dg.EnvVar(var) for name, var in ENV_NAMES.items() if os.environ.get(var)}
        return cls(**values)

    def core(self) -> GraphAuth:
        """The token source these fields configure (built once; resolves `EnvVar` fields outside a run)."""
        if self._core is None:
            self._core = GraphAuth({name: _plain(getattr(self, name)) for name in ENV_NAMES})
        return self._core

    def settings(self) -> AuthSettings:
        """The validated settings (cached)."""
        return self.core().settings()

    def validate(self) -> None:
        """Check the settings of the chosen scheme (and load the certificate store); no network.

        Raises O365AuthError naming the setting to fix.
        """
        self.core().validate()

    def endpoints(self) -> GraphEndpoints:
        """Graph root (no /v1.0), login host and token scope."""
        return self.core().endpoints()

    def tls_verify(self) -> str | bool:
        """CA bundle path (O365_CA_BUNDLE) for httpx `verify=`, or True for the default trust store."""
        return self.core().tls_verify()

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext trusting O365_CA_BUNDLE, else certifi's roots (what `verify=True` means to httpx)."""
        return self.core().ssl_context()

    def interactive(self) -> InteractiveScheme:
        """The AzureAD scheme object (device code login); fails for other schemes."""
        return self.core().interactive()

    def get_token(self, force_refresh: bool = False) -> str:
        """A Graph bearer token; cached in memory and renewed 5 minutes before expiry. Thread-safe.

        Call with `force_refresh=True` once after Graph answers 401 to bypass every cache.
        """
        return self.core().get_token(force_refresh=force_refresh)
