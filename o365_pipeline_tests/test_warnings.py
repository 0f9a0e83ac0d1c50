"""pytest turns a deprecated or superseded API called from our code into an error, and only from our code.

The warning filters live in pyproject.toml; each call below runs as if it were a line of a module of ours
(or of another package), which is how Python attributes a warning to its caller.
"""

import datetime as dt
import warnings

import dagster as dg
import pytest

SUPERSEDED_CALL = "dg.build_last_update_freshness_checks(assets=[dg.AssetKey('x')], lower_bound_delta=dt.timedelta(1))"


def run_as(module: str, source: str) -> None:
    """Execute ``source`` with ``module`` as its ``__name__``: warnings it raises are attributed to that module."""
    code = compile(source, f"<{module}>", "exec")
    exec(code, {"__name__": module, "dg": dg, "dt": dt, "warnings": warnings})


def test_superseded_dagster_api_called_from_our_code_fails() -> None:
    with pytest.raises(dg.SupersessionWarning, match="build_last_update_freshness_checks"):
        run_as("o365_pipeline.defs.checks", SUPERSEDED_CALL)


def test_deprecation_warning_raised_for_our_code_fails() -> None:
    # dlt's deprecations (DltDeprecationWarning) and Dagster's are DeprecationWarnings attributed to the caller.
    with pytest.raises(DeprecationWarning):
        run_as("o365_pipeline.sync", "warnings.warn('old API', DeprecationWarning, stacklevel=1)")


def test_the_same_call_from_another_package_only_warns() -> None:
    with pytest.warns(dg.SupersessionWarning):
        run_as("some_other_package.module", SUPERSEDED_CALL)
