"""One small class per auth scheme; each turns validated settings into access tokens through msal."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msal
import requests

from .certificates import load_credential
from .errors import O365AuthError, from_msal_result, redact
from .settings import AuthSettings


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and its expiry (epoch seconds); the token is left out of repr."""

    token: str = field(repr=False)
    expires_on: float


class Scheme(Protocol):
    """What the resource needs from a scheme."""

    def acquire(self, force_refresh: bool = False) -> AccessToken:
        """A token for Graph; `force_refresh` skips every cache."""
        ...


def _token_from_result(result: dict[str, Any] | None, settings: AuthSettings, default_setting: str) -> AccessToken:
    if not result or "access_token" not in result:
        raise from_msal_result(result or {"error": "no answer"}, default_setting, settings.secrets())
    if "expires_on" in result:  # managed identity may answer only this
        expires_on = float(result["expires_on"])
    else:
        expires_on = time.time() + float(result.get("expires_in", 0))
    return AccessToken(token=str(result["access_token"]), expires_on=expires_on)


def _call_msal(settings: AuthSettings, default_setting: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an msal call, turning transport and discovery failures into one-line O365AuthErrors."""
    try:
        return call(*args, **kwargs)
    except requests.exceptions.SSLError:
        raise O365AuthError(
            f"TLS verification failed talking to the identity platform {settings.endpoints.login_host}: "
            "set O365_CA_BUNDLE to the CA that signed it",
            setting="O365_CA_BUNDLE",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise O365AuthError(
            f"cannot reach the identity platform {settings.endpoints.login_host} ({type(exc).__name__}): "
            "check O365_LOGIN_URL / O365_AZURE_ENVIRONMENT and the network",
            setting="O365_LOGIN_URL",
        ) from None
    except ValueError as exc:
        text = redact(str(exc), settings.secrets())
        if "tenant" in text.lower() or "discovery" in text.lower():
            # msal wraps the discovery answer (which carries the AADSTS code) in a generic ValueError
            match = re.search(r"AADSTS\d+", f"{exc.__context__ or ''} {text}")
            code = match.group(0) if match else None
            raise O365AuthError(
                f"tenant {settings.tenant!r} not found at {settings.endpoints.login_host}"
                f"{f' ({code})' if code else ''}: check O365_AZURE_TENANT",
                setting="O365_AZURE_TENANT",
                code=code,
            ) from None
        raise O365AuthError(f"msal rejected the settings: {text.splitlines()[0]}", setting=default_setting) from None


class _ConfidentialScheme:
    """Client credentials (app-only) through msal.ConfidentialClientApplication."""

    default_setting = "O365_OAUTH_CLIENT_ID"

    def __init__(self, settings: AuthSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._app: msal.ConfidentialClientApplication | None = None

    def _credential(self) -> Any:
        raise NotImplementedError

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            self._app = _call_msal(
                self._settings,
                self.default_setting,
                msal.ConfidentialClientApplication,
                self._settings.client_id,
                client_credential=self._credential(),
                authority=self._settings.authority,
                http_client=self._session,
                instance_discovery=False,
            )
        return self._app

    def acquire(self, force_refresh: bool = False) -> AccessToken:
        """Client-credentials token for the Graph `.default` scope."""
        app = self._application()
        if force_refresh:
            app.token_cache = msal.TokenCache()  # msal refuses force_refresh here: drop its cache instead
        result = _call_msal(
            self._settings,
            self.default_setting,
            app.acquire_token_for_client,
            [self._settings.endpoints.scope],
        )
        return _token_from_result(result, self._settings, self.default_setting)


class ServicePrincipalScheme(_ConfidentialScheme):
    """`AzureServicePrincipal`: app id + client secret."""

    default_setting = "O365_OAUTH_CLIENT_SECRET"

    def _credential(self) -> Any:
        return self._settings.client_secret


class ServicePrincipalCertScheme(_ConfidentialScheme):
    """`AzureServicePrincipalCert`: app id + certificate (PS256 assertion with x5t#S256 and x5c)."""

    default_setting = "O365_OAUTH_JWT_CERT"

    def _credential(self) -> Any:
        s = self._settings
        credential = load_credential(s.cert or "", s.cert_type, s.cert_password, s.cert_subject)
        return credential.msal_credential()


class ManagedIdentityScheme:
    """`AzureMSI`: system-assigned, or user-assigned via O365_MSI_CLIENT_ID; msal finds the endpoint."""

    default_setting = "O365_MSI_CLIENT_ID"

    def __init__(self, settings: AuthSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._client: msal.ManagedIdentityClient | None = None

    def _new_client(self) -> msal.ManagedIdentityClient:
        identity: Any = (
            msal.UserAssignedManagedIdentity(client_id=self._settings.msi_client_id)
            if self._settings.msi_client_id
            else msal.SystemAssignedManagedIdentity()
        )
        return msal.ManagedIdentityClient(identity, http_client=self._session)

    def acquire(self, force_refresh: bool = False) -> AccessToken:
        """Managed identity token for the Graph resource."""
        if self._client is None or force_refresh:
            self._client = self._new_client()
        try:
            result = self._client.acquire_token_for_client(resource=self._settings.endpoints.resource)
        except msal.ManagedIdentityError as exc:
            raise O365AuthError(
                f"managed identity unavailable: {str(exc).splitlines()[0]}", setting="O365_AUTH_SCHEME"
            ) from None
        except requests.exceptions.SSLError:
            raise O365AuthError(
                "TLS verification failed talking to the managed identity endpoint: set O365_CA_BUNDLE",
                setting="O365_CA_BUNDLE",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise O365AuthError(
                f"cannot reach the managed identity endpoint ({type(exc).__name__}): is this an Azure host "
                "with a managed identity? otherwise change O365_AUTH_SCHEME",
                setting="O365_AUTH_SCHEME",
            ) from None
        except ValueError:  # msal parses the answer as JSON: something else answers on that address
            raise O365AuthError(
                "the managed identity endpoint answered something that is not a token: is this an Azure host "
                "with a managed identity (IDENTITY_ENDPOINT)? otherwise change O365_AUTH_SCHEME",
                setting="O365_AUTH_SCHEME",
            ) from None
        if result and "access_token" not in result:
            raise self._error(result)
        return _token_from_result(result, self._settings, self.default_setting)

    def _error(self, result: dict[str, Any]) -> O365AuthError:
        """msal reports endpoint answers as `"<status>, <message>"`; name the variable that fixes it."""
        description = str(result.get("error_description") or result.get("error") or "no answer")
        detail = redact(description.splitlines()[0], self._settings.secrets())
        if description.startswith("401"):
            setting = "IDENTITY_HEADER"
        elif self._settings.msi_client_id:
            setting = "O365_MSI_CLIENT_ID"
        else:
            setting = "O365_AUTH_SCHEME"
        return O365AuthError(f"managed identity token request failed: {detail}; check {setting}", setting=setting)


class TokenCacheFile:
    """msal's serializable token cache persisted to a file with mode 0600.

    Several processes (Dagster steps) may share the file: `locked()` serializes them with an flock on
    a sibling `.lock` file and reloads the cache when another process changed it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cache = msal.SerializableTokenCache()
        self._loaded_mtime: int | None = None
        self.reload()

    def reload(self) -> None:
        """Read the file again if it changed since the last read or write."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise O365AuthError(
                f"cannot read the token cache {str(self.path)!r}: {exc.strerror}", setting="O365_TOKEN_CACHE"
            ) from None
        if stat.st_mtime_ns == self._loaded_mtime:
            return
        try:
            if stat.st_mode & 0o077:  # readable by others: tighten before reading secrets from it
                os.chmod(self.path, 0o600)
            self.cache.deserialize(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise O365AuthError(
                f"cannot read the token cache {str(self.path)!r} ({type(exc).__name__}): fix or delete it",
                setting="O365_TOKEN_CACHE",
            ) from None
        self.cache.has_state_changed = False
        self._loaded_mtime = stat.st_mtime_ns

    @contextlib.contextmanager
    def locked(self, reload: bool = True) -> Iterator[None]:
        """Hold the cross-process lock (cache reloaded first unless `reload=False`); save on the way out."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise O365AuthError(
                f"cannot lock the token cache {str(self.path)!r}: {exc.strerror}", setting="O365_TOKEN_CACHE"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if reload:
                self.reload()
            yield
            self.save()
        finally:
            os.close(fd)  # releases the flock

    def save(self) -> None:
        """Write the cache if msal changed it: atomically, owner-only (0600)."""
        if not self.cache.has_state_changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(self.cache.serialize())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._loaded_mtime = self.path.stat().st_mtime_ns
        except OSError as exc:
            raise O365AuthError(
                f"cannot write the token cache {str(self.path)!r}: {exc.strerror}", setting="O365_TOKEN_CACHE"
            ) from None
        self.cache.has_state_changed = False


class InteractiveScheme:
    """`AzureAD`: delegated tokens for a signed-in user; `o365-pipeline login` signs in with a device code."""

    default_setting = "O365_OAUTH_CLIENT_ID"

    def __init__(self, settings: AuthSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._app: msal.PublicClientApplication | None = None
        self.cache_file = TokenCacheFile(settings.token_cache)

    def application(self) -> msal.PublicClientApplication:
        """The msal public client bound to the persistent cache."""
        if self._app is None:
            self._app = _call_msal(
                self._settings,
                self.default_setting,
                msal.PublicClientApplication,
                self._settings.client_id,
                authority=self._settings.authority,
                http_client=self._session,
                instance_discovery=False,
                token_cache=self.cache_file.cache,
            )
        return self._app

    def scopes(self) -> list[str]:
        """Delegated scopes requested (msal adds openid, profile, offline_access)."""
        return [self._settings.endpoints.scope]

    def acquire(self, force_refresh: bool = False) -> AccessToken:
        """Silent token from the cache, refreshing with the refresh token when needed."""
        app = self.application()
        with self.cache_file.locked():
            accounts = app.get_accounts()
            if not accounts:
                raise O365AuthError(
                    f"no signed-in account in the token cache {str(self._settings.token_cache)!r}: "
                    "run `o365-pipeline login`",
                    setting="O365_TOKEN_CACHE",
                )
            result = _call_msal(
                self._settings,
                "O365_TOKEN_CACHE",
                app.acquire_token_silent_with_error,
                self.scopes(),
                account=accounts[0],
                force_refresh=force_refresh,
            )
        if result is None:
            raise O365AuthError(
                "the cached sign-in cannot be refreshed: run `o365-pipeline login`",
                setting="O365_TOKEN_CACHE",
            )
        return _token_from_result(result, self._settings, "O365_TOKEN_CACHE")

    def login(self, out: Any) -> str:
        """Device code sign-in; prints the URL and code through `out`; returns the account name."""
        app = self.application()
        flow = _call_msal(self._settings, self.default_setting, app.initiate_device_flow, scopes=self.scopes())
        if "user_code" not in flow:
            raise from_msal_result(flow, self.default_setting, self._settings.secrets())
        out(f"To sign in, open {flow['verification_uri']} and enter the code {flow['user_code']}")
        result = _call_msal(self._settings, self.default_setting, app.acquire_token_by_device_flow, flow)
        if "access_token" not in result:
            raise from_msal_result(result, self.default_setting, self._settings.secrets())
        with self.cache_file.locked(reload=False):  # the new sign-in replaces what the file held
            self.cache_file.cache.has_state_changed = True
        claims = result.get("id_token_claims") or {}
        return str(claims.get("preferred_username") or claims.get("name") or claims.get("oid") or "signed in")


def build_scheme(settings: AuthSettings, session: requests.Session) -> Scheme:
    """The scheme object for `settings.scheme`."""
    schemes: dict[str, Any] = {
        "AzureAD": InteractiveScheme,
        "AzureMSI": ManagedIdentityScheme,
        "AzureServicePrincipal": ServicePrincipalScheme,
        "AzureServicePrincipalCert": ServicePrincipalCertScheme,
    }
    return schemes[settings.scheme](settings, session)
