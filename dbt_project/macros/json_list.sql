{#-
    The entries of a JSON array column (lists of the Arrow-loaded tables, such as messages.to_recipients), one row
    each, with their 1-based position: json_entries(column) and json_positions(column) in the same select list are
    set-returning and run in step (DuckDB unnest, Postgres jsonb_array_elements). json_get(column, 'key') is the
    JSON value of one key, for paths: json_text(json_get('attendee', 'emailAddress'), 'address').
-#}
{% macro json_entries(json_column) -%}
    {{ return(adapter.dispatch('json_entries', 'o365')(json_column)) }}
{%- endmacro %}

{% macro default__json_entries(json_column) -%}
    unnest(json_extract({{ json_column }}, '$[*]'))
{%- endmacro %}

{% macro postgres__json_entries(json_column) -%}
    jsonb_array_elements({{ json_column }})
{%- endmacro %}

{% macro json_positions(json_column) -%}
    {{ return(adapter.dispatch('json_positions', 'o365')(json_column)) }}
{%- endmacro %}

{% macro default__json_positions(json_column) -%}
    unnest(generate_series(1, cast(json_array_length({{ json_column }}) as bigint)))
{%- endmacro %}

{% macro postgres__json_positions(json_column) -%}
    generate_series(1, jsonb_array_length({{ json_column }}))
{%- endmacro %}

{% macro json_get(json_column, key) -%}
    {{ return(adapter.dispatch('json_get', 'o365')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_get(json_column, key) -%}
    json_extract({{ json_column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_get(json_column, key) -%}
    ({{ json_column }} -> '{{ key }}')
{%- endmacro %}
