{#-
    The text of one key of a JSON column (a nested object dlt kept whole): DuckDB's json_extract_string,
    Postgres' ->> operator on jsonb. Models call json_text(column, 'key') and stay portable.
-#}
{% macro json_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_text', 'o365')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_text(json_column, key) -%}
    json_extract_string({{ json_column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(json_column, key) -%}
    ({{ json_column }} ->> '{{ key }}')
{%- endmacro %}
