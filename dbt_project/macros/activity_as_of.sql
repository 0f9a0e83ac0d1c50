{#-
    The moment "recent" is measured from: the `as_of` var (an ISO timestamp, for reproducible reports and
    unit tests) or the current time.
-#}
{% macro activity_as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        cast(current_timestamp as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The domain part of an SMTP address, lower case. -#}
{% macro email_domain(address) -%}
    lower(split_part({{ address }}, '@', 2))
{%- endmacro %}
