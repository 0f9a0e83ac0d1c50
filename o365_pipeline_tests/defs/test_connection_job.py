"""The Dagster "Create & Test" job against the real emulator."""

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.defs.connection import create_and_test
from o365_pipeline.graph.entities import ENTITIES


def test_job_reports_every_entity(o365_env: dict[str, str]) -> None:
    result = create_and_test.execute_in_process(resources={"o365": O365Auth.from_dagster_env()})
    assert result.success
    output = result.output_for_node("check_graph_connection")
    assert 0 < output <= len(ENTITIES)


def test_job_fails_with_the_setting_to_fix(o365_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O365_OAUTH_CLIENT_SECRET", "wrong-secret")
    result = create_and_test.execute_in_process(resources={"o365": O365Auth.from_dagster_env()}, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "O365_OAUTH_CLIENT_SECRET" in str(failure) and "wrong-secret" not in str(failure)
