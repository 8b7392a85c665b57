{#- Named after the alias when the parent renames this chart (Chart.Name is the alias). -#}
{% component backend.fullname(@Release, @Chart) -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent backend.fullname %}
