"""The one exception of the auth package, and translation of identity-platform errors into it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_AADSTS = re.compile(r"AADSTS(\d+)")

# AADSTS code -> (setting to fix, what it means). Codes from Microsoft Entra's error reference.
AADSTS_SETTINGS: dict[int, tuple[str, str]] = {
    7000215: ("O365_OAUTH_CLIENT_SECRET", "invalid client secret"),
    7000222: ("O365_OAUTH_CLIENT_SECRET", "the client secret has expired"),
    700016: ("O365_OAUTH_CLIENT_ID", "application (client id) not found in the tenant"),
    90002: ("O365_AZURE_TENANT", "tenant not found"),
    900023: ("O365_AZURE_TENANT", "tenant id or domain is not valid"),
    90033: ("O365_AZURE_TENANT", "tenant not found"),
    65001: ("O365_OAUTH_CLIENT_ID", "the application lacks admin consent for the requested permissions"),
    700027: ("O365_OAUTH_JWT_CERT", "the certificate is not registered for this application"),
    700024: ("O365_OAUTH_JWT_CERT", "the client assertion is outside its valid time range (check the clock)"),
    7000112: ("O365_OAUTH_CLIENT_ID", "the application is disabled"),
    7000218: (
        "O365_OAUTH_CLIENT_ID",
        "the application does not allow public client flows (device code): turn on 'Allow public client flows' "
        "under Authentication in its registration",
    ),
    70000: ("O365_TOKEN_CACHE", "the signed-in session is no longer valid: run `o365-pipeline login`"),
    700082: ("O365_TOKEN_CACHE", "the refresh token has expired: run `o365-pipeline login`"),
    50076: ("O365_TOKEN_CACHE", "multi-factor sign-in is required: run `o365-pipeline login`"),
}


# OAuth `error` values of the device code flow: the user's doing, not a setting's; sign in again.
DEVICE_FLOW_ERRORS: dict[str, str] = {
    "authorization_declined": "the sign-in was declined: run `o365-pipeline login` again",
    "expired_token": "the device code expired before sign-in finished: run `o365-pipeline login` again",
    "bad_verification_code": "the device code was not recognized: run `o365-pipeline login` again",
}


class O365AuthError(Exception):
    """An authentication problem, explained on one line that names the setting (env var) to fix."""

    def __init__(self, message: str, setting: str | None = None, code: str | None = None) -> None:
        line = " ".join(message.split())
        if setting and setting not in line:
            line = f"{line} (setting {setting})"
        super().__init__(line)
        self.setting = setting
        self.code = code

    def __repr__(self) -> str:
        return f"O365AuthError({str(self)!r}, setting={self.setting!r})"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every non-trivial secret value occurring in `text` with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def aadsts_code(result: Mapping[str, Any]) -> int | None:
    """The first AADSTS code of an msal error result, from `error_codes` or the description."""
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = _AADSTS.search(str(result.get("error_description") or ""))
    return int(match.group(1)) if match else None


def _first_sentence(description: str) -> str:
    text = description.split("\r\n")[0].split("\n")[0]
    text = text.split(" Trace ID:")[0]
    return text.strip()


def from_msal_result(
    result: Mapping[str, Any], default_setting: str, secrets: Iterable[str | None] = ()
) -> O365AuthError:
    """Translate an msal error dict into an O365AuthError naming the setting, keeping the AADSTS code."""
    code = aadsts_code(result)
    error = str(result.get("error") or "error")
    description = _first_sentence(str(result.get("error_description") or ""))
    if error in DEVICE_FLOW_ERRORS:
        setting = "O365_TOKEN_CACHE"
        message = f"{DEVICE_FLOW_ERRORS[error]} ({error}{f', AADSTS{code}' if code is not None else ''})"
    elif code is not None and code in AADSTS_SETTINGS:
        setting, meaning = AADSTS_SETTINGS[code]
        message = f"token request failed: AADSTS{code} {meaning} ({error}); fix {setting}"
    else:
        setting = default_setting
        detail = description or error
        message = f"token request failed: {detail} ({error}); check {setting}"
    return O365AuthError(redact(message, secrets), setting=setting, code=f"AADSTS{code}" if code is not None else error)


def auth_error_in(exc: BaseException) -> O365AuthError | None:
    """The O365AuthError that caused `exc` (dlt wraps errors raised while extracting), or None.

    For a command line that prints one line instead of dlt's traceback: `error: {auth_error_in(exc)}`.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, O365AuthError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
