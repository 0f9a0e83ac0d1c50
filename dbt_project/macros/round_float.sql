{#-
    A floating-point expression rounded to `digits` decimals, still a double: Postgres only rounds numerics
    to a number of digits (round(double precision, integer) does not exist there).
-#}
{% macro round_float(expression, digits) -%}
    {{ return(adapter.dispatch('round_float', 'o365')(expression, digits)) }}
{%- endmacro %}

{% macro default__round_float(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_float(expression, digits) -%}
    cast(round(cast({{ expression }} as numeric), {{ digits }}) as float8)
{%- endmacro %}
