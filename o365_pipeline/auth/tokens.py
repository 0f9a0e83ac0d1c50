"""`GraphAuth`: Graph access tokens for the configured scheme, without Dagster.

The headless paths (`o365-pipeline sync`, `test-connection`, `login`, the benchmarks) use it directly, so they
do not import Dagster; the `O365Auth` Dagster resource wraps one.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Protocol

import certifi

from .certificates import load_credential
from .errors import O365AuthError
from .schemes import AccessToken, InteractiveScheme, Scheme, build_scheme
from .settings import ENV_NAMES, AuthSettings, GraphEndpoints, validate_settings
from .transport import PinnedTrustSession

logger = logging.getLogger(__name__)

# A cached token is reused until this many seconds before it expires (msal also uses 5 minutes).
REFRESH_MARGIN_SECONDS = 300.0


class GraphCredentials(Protocol):
    """What a sync needs of the authentication: `GraphAuth` and the `O365Auth` resource both provide it."""

    def validate(self) -> None: ...
    def endpoints(self) -> GraphEndpoints: ...
    def tls_verify(self) -> str | bool: ...
    def get_token(self, force_refresh: bool = False) -> str: ...


class GraphAuth:
    """Microsoft 365 authentication (CData's scheme names), msal doing the protocol work.

    ``values`` maps the field names of :data:`ENV_NAMES` (``auth_scheme``, ``oauth_client_secret``, ...) to the
    settings' plain values. Secrets are never part of its repr.
    """

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self._values = {name: values.get(name) for name in ENV_NAMES}
        self._lock = threading.Lock()
        self._settings: AuthSettings | None = None
        self._scheme: Scheme | None = None
        self._token: AccessToken | None = None

    def __repr__(self) -> str:
        return f"GraphAuth(auth_scheme={self._values.get('auth_scheme')!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GraphAuth:
        """Plain values from the O365_* environment variables."""
        env = os.environ if environ is None else environ
        return cls({name: env.get(var) or None for name, var in ENV_NAMES.items()})

    def settings(self) -> AuthSettings:
        """The validated settings (cached)."""
        if self._settings is None:
            self._settings = validate_settings(**self._values)
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
        """CA bundle path (O365_CA_BUNDLE) for `verify=`, or True for the default trust store."""
        return self.settings().ca_bundle or True

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext trusting O365_CA_BUNDLE, else certifi's roots (what `verify=True` means to httpx)."""
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
