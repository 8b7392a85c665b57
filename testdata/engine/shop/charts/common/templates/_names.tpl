{% component common.fullname(@Release, @Chart) -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent common.fullname %}
