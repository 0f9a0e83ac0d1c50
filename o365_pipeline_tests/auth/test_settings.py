"""Settings validation, the national cloud table and secret hygiene of the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from o365_pipeline.auth import O365Auth, O365AuthError
from o365_pipeline.auth.settings import DEFAULT_PUBLIC_CLIENT_ID, SCHEMES

SECRET = "Zk8Q~very-secret-value"
BASE = {"O365_AZURE_TENANT": "contoso.onmicrosoft.com", "O365_OAUTH_CLIENT_ID": "11111111-2222"}


def _error(env: dict[str, str]) -> O365AuthError:
    with pytest.raises(O365AuthError) as info:
        O365Auth.from_env(env).validate()
    assert "\n" not in str(info.value)
    return info.value


def test_unknown_scheme_lists_valid_ones() -> None:
    error = _error({**BASE, "O365_AUTH_SCHEME": "Kerberos"})
    assert error.setting == "O365_AUTH_SCHEME"
    assert all(name in str(error) for name in SCHEMES)


@pytest.mark.parametrize(
    ("scheme", "missing", "env"),
    [
        ("AzureServicePrincipal", "O365_AZURE_TENANT", {"O365_OAUTH_CLIENT_ID": "x", "O365_OAUTH_CLIENT_SECRET": "y"}),
        ("AzureServicePrincipal", "O365_OAUTH_CLIENT_ID", {"O365_AZURE_TENANT": "t", "O365_OAUTH_CLIENT_SECRET": "y"}),
        ("AzureServicePrincipal", "O365_OAUTH_CLIENT_SECRET", BASE),
        ("AzureServicePrincipalCert", "O365_OAUTH_JWT_CERT", BASE),
        ("AzureServicePrincipalCert", "O365_OAUTH_CLIENT_ID", {"O365_AZURE_TENANT": "t"}),
    ],
)
def test_missing_settings_are_named(scheme: str, missing: str, env: dict[str, str]) -> None:
    error = _error({**env, "O365_AUTH_SCHEME": scheme})
    assert error.setting == missing and missing in str(error)


def test_bad_values_are_named(tmp_path: Path) -> None:
    cases = {
        "O365_OAUTH_JWT_CERT_TYPE": {"O365_AUTH_SCHEME": "AzureServicePrincipalCert", "O365_OAUTH_JWT_CERT": "x"},
        "O365_AZURE_ENVIRONMENT": {"O365_AZURE_ENVIRONMENT": "MARS"},
        "O365_LOGIN_URL": {"O365_LOGIN_URL": "http://127.0.0.1:8443"},
        "O365_GRAPH_URL": {"O365_GRAPH_URL": "graph.local"},
        "O365_CA_BUNDLE": {"O365_CA_BUNDLE": str(tmp_path / "nope.pem")},
    }
    cases["O365_OAUTH_JWT_CERT_TYPE"]["O365_OAUTH_JWT_CERT_TYPE"] = "JKS"
    for setting, extra in cases.items():
        error = _error({**BASE, "O365_OAUTH_CLIENT_SECRET": SECRET, **extra})
        assert error.setting == setting, (setting, str(error))
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("hello")
    assert _error({**BASE, "O365_OAUTH_CLIENT_SECRET": SECRET, "O365_CA_BUNDLE": str(not_pem)}).setting == (
        "O365_CA_BUNDLE"
    )


@pytest.mark.parametrize(
    ("environment", "login", "graph"),
    [
        (None, "login.microsoftonline.com", "graph.microsoft.com"),
        ("GLOBAL", "login.microsoftonline.com", "graph.microsoft.com"),
        ("usgovt", "login.microsoftonline.us", "graph.microsoft.us"),
        ("USGOVTDOD", "login.microsoftonline.us", "dod-graph.microsoft.us"),
        ("CHINA", "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_national_cloud_table(environment: str | None, login: str, graph: str) -> None:
    env = {**BASE, "O365_OAUTH_CLIENT_SECRET": SECRET}
    if environment:
        env["O365_AZURE_ENVIRONMENT"] = environment
    endpoints = O365Auth.from_env(env).endpoints()
    assert endpoints.login_host == f"https://{login}"
    assert endpoints.graph_root == f"https://{graph}"
    assert endpoints.scope == f"https://{graph}/.default"


def test_overrides_keep_the_cloud_scope() -> None:
    env = {
        **BASE,
        "O365_OAUTH_CLIENT_SECRET": SECRET,
        "O365_AZURE_ENVIRONMENT": "USGOVT",
        "O365_GRAPH_URL": "https://127.0.0.1:8443/v1.0/",
        "O365_LOGIN_URL": "https://127.0.0.1:8443/",
    }
    endpoints = O365Auth.from_env(env).endpoints()
    assert endpoints.graph_root == "https://127.0.0.1:8443"
    assert endpoints.login_host == "https://127.0.0.1:8443"
    assert endpoints.scope == "https://graph.microsoft.us/.default"


def test_azure_ad_defaults(tmp_path: Path) -> None:
    auth = O365Auth.from_env({"O365_AUTH_SCHEME": "azuread", "XDG_CONFIG_HOME": str(tmp_path)})
    settings = auth.settings()
    assert settings.scheme == "AzureAD"
    assert settings.client_id == DEFAULT_PUBLIC_CLIENT_ID
    assert settings.tenant == "organizations"
    assert auth.tls_verify() is True


def test_secrets_never_in_repr_or_str() -> None:
    env = {
        **BASE,
        "O365_OAUTH_CLIENT_SECRET": SECRET,
        "O365_OAUTH_JWT_CERT": "-----BEGIN PRIVATE KEY-----abc",
        "O365_OAUTH_JWT_CERT_PASSWORD": "pfx-password-1",
    }
    auth = O365Auth.from_env(env)
    auth.validate()
    for text in (repr(auth), str(auth), repr(auth.settings()), str(auth.settings())):
        assert SECRET not in text and "PRIVATE KEY" not in text and "pfx-password-1" not in text
    assert "contoso.onmicrosoft.com" in repr(auth)


def test_from_dagster_env_tolerates_unset_optional_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("O365_OAUTH_JWT_CERT", "O365_MSI_CLIENT_ID", "O365_CA_BUNDLE", "O365_GRAPH_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("O365_AZURE_TENANT", "contoso")
    monkeypatch.setenv("O365_OAUTH_CLIENT_ID", "app-id")
    monkeypatch.setenv("O365_OAUTH_CLIENT_SECRET", SECRET)
    auth = O365Auth.from_dagster_env()
    assert SECRET not in repr(auth)
    assert auth.oauth_jwt_cert is None
    assert auth.settings().client_secret == SECRET  # usable outside a run too


def test_validate_loads_the_certificate_store() -> None:
    env = {**BASE, "O365_AUTH_SCHEME": "AzureServicePrincipalCert", "O365_OAUTH_JWT_CERT": "bm90IGEgY2VydA=="}
    assert _error(env).setting == "O365_OAUTH_JWT_CERT"
