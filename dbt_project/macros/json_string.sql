{#-
    The text of a JSON string value (an entry of a list of strings, from json_entries): DuckDB's
    json_extract_string at the root, Postgres' #>> '{}' on jsonb.
-#}
{% macro json_string(json_value) -%}
    {{ return(adapter.dispatch('json_string', 'o365')(json_value)) }}
{%- endmacro %}

{% macro default__json_string(json_value) -%}
    json_extract_string({{ json_value }}, '$')
{%- endmacro %}

{% macro postgres__json_string(json_value) -%}
    ({{ json_value }} #>> '{}')
{%- endmacro %}
