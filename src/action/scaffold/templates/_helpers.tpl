{#- Helpers for the webapp chart. Each is a tera component; call it with
    include(name="<CHARTNAME>.fullname") to get a string you can pipe on. -#}

{% component <CHARTNAME>.name(@Values, @Chart) -%}
{{ Values.nameOverride | default(value=Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent <CHARTNAME>.name %}

{#- The fully qualified app name: release-chart, cut to 63 characters (DNS-1123). -#}
{% component <CHARTNAME>.fullname(@Values, @Release, @Chart) -%}
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
{%- endcomponent <CHARTNAME>.fullname %}

{% component <CHARTNAME>.chart(@Chart) -%}
{{ (Chart.Name ~ "-" ~ Chart.Version) | replace(from="+", to="_") | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent <CHARTNAME>.chart %}

{% component <CHARTNAME>.selectorLabels(@Values, @Release, @Chart) -%}
app.kubernetes.io/name: {{ include(name="<CHARTNAME>.name") }}
app.kubernetes.io/instance: {{ Release.Name }}
{%- endcomponent <CHARTNAME>.selectorLabels %}

{% component <CHARTNAME>.labels(@Values, @Release, @Chart) -%}
helm.sh/chart: {{ include(name="<CHARTNAME>.chart") }}
{{ include(name="<CHARTNAME>.selectorLabels") }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ Release.Service }}
{%- endcomponent <CHARTNAME>.labels %}

{% component <CHARTNAME>.serviceAccountName(@Values, @Release, @Chart) -%}
{%- if Values.serviceAccount.create -%}
{{ Values.serviceAccount.name | default(value=include(name="<CHARTNAME>.fullname")) }}
{%- else -%}
{{ Values.serviceAccount.name | default(value="default") }}
{%- endif -%}
{%- endcomponent <CHARTNAME>.serviceAccountName %}
