"""Dagster definitions, one module per concern: ingestion (dlt), modeling (dbt), checks, automation."""
