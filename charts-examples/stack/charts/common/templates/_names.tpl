{#- Naming and labelling conventions shared by every chart of the stack. -#}

{% component common.fullname(@Release, @Chart) -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent common.fullname %}

{% component common.labels(@Values, @Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ Release.Service }}
app.kubernetes.io/part-of: stack
environment: {{ Values.global.environment }}
{%- endcomponent common.labels %}
