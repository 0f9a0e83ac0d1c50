"""The dbt project handle (only that, as in Dagster's examples)."""

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Build ``target/manifest.json`` with ``dbt parse`` when it is missing (fresh clones, CI).

    ``prepare_if_dev()`` only acts under ``dagster dev``; this makes every other entry point work too.
    """
    dbt_project.prepare_if_dev()
    if not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
