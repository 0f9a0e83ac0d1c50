"""AADSTS translation: one line, the setting to fix, the code kept, secrets redacted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from o365_pipeline.auth.errors import O365AuthError, auth_error_in, from_msal_result


@pytest.mark.parametrize(
    ("code", "setting"),
    [
        (7000215, "O365_OAUTH_CLIENT_SECRET"),
        (7000222, "O365_OAUTH_CLIENT_SECRET"),
        (700016, "O365_OAUTH_CLIENT_ID"),
        (90002, "O365_AZURE_TENANT"),
        (65001, "O365_OAUTH_CLIENT_ID"),
        (700027, "O365_OAUTH_JWT_CERT"),
    ],
)
def test_known_codes(code: int, setting: str) -> None:
    result = {
        "error": "invalid_client",
        "error_description": f"AADSTS{code}: Something.\r\nTrace ID: 1\r\nCorrelation ID: 2",
        "error_codes": [code],
    }
    error = from_msal_result(result, "O365_AUTH_SCHEME")
    assert error.setting == setting and error.code == f"AADSTS{code}"
    assert f"AADSTS{code}" in str(error) and setting in str(error) and "\n" not in str(error)


def test_unknown_code_uses_the_default_setting_and_redacts() -> None:
    secret = "Zk8Q~leaked-into-a-description"
    result = {"error": "invalid_request", "error_description": f"AADSTS123456: bad value {secret}. Trace ID: x"}
    error = from_msal_result(result, "O365_OAUTH_CLIENT_ID", secrets=[secret])
    assert error.setting == "O365_OAUTH_CLIENT_ID" and error.code == "AADSTS123456"
    assert secret not in str(error) and secret not in repr(error) and "Trace ID" not in str(error)


def test_error_is_one_line_and_names_its_setting() -> None:
    error = O365AuthError("first line\nsecond line", setting="O365_CA_BUNDLE")
    assert str(error) == "first line second line (setting O365_CA_BUNDLE)"
    assert isinstance(error, Exception) and error.setting == "O365_CA_BUNDLE"


def test_auth_error_is_found_behind_dlts_wrapping(tmp_path: Path) -> None:
    cause = O365AuthError(
        "token request failed: AADSTS7000215 invalid client secret", setting="O365_OAUTH_CLIENT_SECRET"
    )

    @dlt.resource(name="users")
    def users() -> Iterator[dict[str, str]]:
        raise cause
        yield {}

    pipeline = dlt.pipeline(
        pipeline_name="auth_error_wrap",
        pipelines_dir=str(tmp_path / "dlt"),
        destination=dlt.destinations.duckdb(str(tmp_path / "x.duckdb")),
    )
    with pytest.raises(PipelineStepFailed) as info:
        pipeline.run(users())
    assert auth_error_in(info.value) is cause
    assert auth_error_in(ValueError("unrelated")) is None
