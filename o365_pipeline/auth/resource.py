"""`O365Auth`: the Dagster resource that hands out Graph access tokens for the configured scheme."""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

import certifi
import dagster as dg
from pydantic import Field, PrivateAttr

from .certificates import load_credential
from .errors import O365AuthError
from .schemes import AccessToken, InteractiveScheme, Scheme, build_scheme
from .settings import ENV_NAMES, AuthSettings, GraphEndpoints, validate_settings
from .transport import PinnedTrustSession

logger = logging.getLogger(__name__)

# A cached token is reused until this many seconds before it expires (msal also uses 5 minutes).
REFRESH_MARGIN_SECONDS = 300.0


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

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _settings: AuthSettings | None = PrivateAttr(default=None)
    _scheme: Scheme | None = PrivateAttr(default=None)
    _token: AccessToken | None = PrivateAttr(default=None)

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

    def settings(self) -> AuthSettings:
        """The validated settings (cached)."""
        if self._settings is None:
            self._settings = validate_settings(**{name: _plain(getattr(self, name)) for name in ENV_NAMES})
        return self._settings

    def validate(self) -> None:
        """Check the settings of the chosen scheme (and load the certificate store); no network.

        Raises O365AuthError naming the setting to fix.
        """
        settings = self.settings()
        if settings.scheme == "AzureServicePrincipalCert":
            load_credential(settings.cert or "", settings.cert_type, settings.cert_password, settings.cert_subject)

    def endpoints(self) -> GraphEndpoints:
        """Graph root (no /v1.0), login host and token scope."""
        return self.settings().endpoints

    def tls_verify(self) -> str | bool:
        """CA bundle path (O365_CA_BUNDLE) for httpx `verify=`, or True for the default trust store."""
        return self.settings().ca_bundle or True

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext trusting O365_CA_BUNDLE, else certifi's roots (what `verify=True` means to httpx).

        httpx 0.28 deprecates `verify=<path>`: prefer this to `tls_verify()` for httpx clients.
        """
        return ssl.create_default_context(cafile=self.settings().ca_bundle or certifi.where())

    def _scheme_object(self) -> Scheme:
        if self._scheme is None:
            self._scheme = build_scheme(self.settings(), PinnedTrustSession(verify=self.tls_verify()))
        return self._scheme

    def interactive(self) -> InteractiveScheme:
        """The AzureAD scheme object (device code login); fails for other schemes."""
        scheme = self._scheme_object()
        if not isinstance(scheme, InteractiveScheme):
            raise O365AuthError(
                f"`login` is for the AzureAD scheme; O365_AUTH_SCHEME is {self.settings().scheme}",
                setting="O365_AUTH_SCHEME",
            )
        return scheme

    def get_token(self, force_refresh: bool = False) -> str:
        """A Graph bearer token; cached in memory and renewed 5 minutes before expiry. Thread-safe.

        Call with `force_refresh=True` once after Graph answers 401 to bypass every cache.
        """
        with self._lock:
            cached = self._token
            if not force_refresh and cached is not None and cached.expires_on - time.time() > REFRESH_MARGIN_SECONDS:
                return cached.token
            token = self._scheme_object().acquire(force_refresh=force_refresh)
            self._token = token
            logger.info(
                "token acquired with %s%s, valid %d s",
                self.settings().scheme,
                " (forced refresh)" if force_refresh else "",
                int(token.expires_on - time.time()),
            )
            return token.token
