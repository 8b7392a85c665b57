{#- Helpers for the webapp chart. Each is a tera component; call it with
    include(name="webapp.fullname") to get a string you can pipe on. -#}

{% component webapp.name(@Values, @Chart) -%}
{{ Values.nameOverride | default(value=Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent webapp.name %}

{#- The fully qualified app name: release-chart, cut to 63 characters (DNS-1123). -#}
{% component webapp.fullname(@Values, @Release, @Chart) -%}
{%- if Values.fullnameOverride -%}
{{ Values.fullnameOverride | trunc(n=63) | trimSuffix(suffix="-") }}
{%- else -%}
{%- set name = Values.nameOverride | default(value=Chart.Name) -%}
{%- if name in Release.Name -%}
{{ Release.Name | trunc(n=63) | trimSuffix(suffix="-") }}
{%- else -%}
{{ (Release.Name ~ "-" ~ name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endif -%}
{%- endif -%}
{%- endcomponent webapp.fullname %}

{% component webapp.chart(@Chart) -%}
{{ (Chart.Name ~ "-" ~ Chart.Version) | replace(from="+", to="_") | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent webapp.chart %}

{% component webapp.selectorLabels(@Values, @Release, @Chart) -%}
app.kubernetes.io/name: {{ include(name="webapp.name") }}
app.kubernetes.io/instance: {{ Release.Name }}
{%- endcomponent webapp.selectorLabels %}

{% component webapp.labels(@Values, @Release, @Chart) -%}
helm.sh/chart: {{ include(name="webapp.chart") }}
{{ include(name="webapp.selectorLabels") }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ Release.Service }}
{%- endcomponent webapp.labels %}

{% component webapp.serviceAccountName(@Values, @Release, @Chart) -%}
{%- if Values.serviceAccount.create -%}
{{ Values.serviceAccount.name | default(value=include(name="webapp.fullname")) }}
{%- else -%}
{{ Values.serviceAccount.name | default(value="default") }}
{%- endif -%}
{%- endcomponent webapp.serviceAccountName %}
