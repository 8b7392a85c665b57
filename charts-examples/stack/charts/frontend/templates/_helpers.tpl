{% component frontend.fullname(@Release, @Chart) -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent frontend.fullname %}

{% component frontend.selectorLabels(@Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
{%- endcomponent frontend.selectorLabels %}
