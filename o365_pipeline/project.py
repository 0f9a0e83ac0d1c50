"""The dbt project handle (only that, as in Dagster's examples)."""

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# The dbt installed beside this interpreter, so runs work without an activated venv.
DBT_EXECUTABLE = (
    str(Path(sys.executable).parent / "dbt")
    if (Path(sys.executable).parent / "dbt").exists()
    else (shutil.which("dbt") or "dbt")
)

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Build ``target/manifest.json`` with ``dbt parse`` when it is missing (fresh clones, CI).

    ``prepare_if_dev()`` only acts under ``dagster dev``; this makes every other entry point work too.
    """
    if shutil.which("dbt") is None:  # dagster-dbt's preparer calls plain `dbt`: find the one beside us
        os.environ["PATH"] = f"{Path(DBT_EXECUTABLE).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    dbt_project.prepare_if_dev()
    if not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
