from pathlib import Path

import pytest

from o365_pipeline.config import PipelineConfig, SettingError


def test_defaults() -> None:
    config = PipelineConfig.from_env({})
    assert config.dataset == "o365_raw"
    assert config.duckdb_path == Path("data/o365.duckdb").resolve()
    assert config.entities == () and config.users == ()


def test_lists_are_split_and_stripped() -> None:
    config = PipelineConfig.from_env({"O365_ENTITIES": " users, groups ,", "O365_USERS": "a@x.com"})
    assert config.entities == ("users", "groups")
    assert config.users == ("a@x.com",)


def test_bad_dataset_names_the_setting() -> None:
    with pytest.raises(SettingError, match="^O365_DATASET: "):
        PipelineConfig.from_env({"O365_DATASET": "raw-data; drop"})
