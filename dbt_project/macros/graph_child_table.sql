{#-
    The dlt child table holding a list property of a raw table (`<parent>__<property>`, rows point at the
    parent's _dlt_id with _dlt_parent_id). Child tables are not sources of their own: they are written by the
    same Dagster asset as their parent, so the dependency is declared on the parent source.
-#}
{% macro graph_child_table(parent, list_property) %}
    {%- set parent_relation = source('graph', parent) -%}
    {{ return(api.Relation.create(
        database=parent_relation.database,
        schema=parent_relation.schema,
        identifier=parent ~ '__' ~ list_property,
    )) }}
{% endmacro %}
