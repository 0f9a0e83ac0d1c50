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


def test_the_destination_is_duckdb_or_postgres_with_its_connection_settings() -> None:
    config = PipelineConfig.from_env({})
    assert config.destination == "duckdb" and config.file_format == "parquet" and config.postgres is None
    env = {"O365_DESTINATION": "Postgres", "O365_PG_HOST": "db", "O365_PG_PORT": "6432", "O365_PG_USER": "o365"}
    config = PipelineConfig.from_env(env)
    assert config.destination == "postgres" and config.file_format == "insert_values"
    assert config.postgres == {"host": "db", "port": "6432", "user": "o365"}
    with pytest.raises(SettingError, match="^O365_DESTINATION: 'mysql' is not one of duckdb, postgres"):
        PipelineConfig.from_env({"O365_DESTINATION": "mysql"})


def test_duckdb_memory_limit_is_a_size() -> None:
    assert PipelineConfig.from_env({}).duckdb_memory_limit == "128MB"
    assert PipelineConfig.from_env({"O365_DUCKDB_MEMORY_LIMIT": "2GB"}).duckdb_memory_limit == "2GB"
    with pytest.raises(SettingError, match="^O365_DUCKDB_MEMORY_LIMIT: 'lots' is not a size"):
        PipelineConfig.from_env({"O365_DUCKDB_MEMORY_LIMIT": "lots"})
