-- The raw tables and dbt models live in their own database beside Dagster's (POSTGRES_DB=dagster).
create database o365;
