#!/usr/bin/env python3
"""Generates the render benchmark's twin charts: DIR/tera (rudder) and DIR/gotpl (helm).

Both hold N templates that render to the same documents (about 33 lines each), using
the everyday template features: values lookups, a helper included and indented, a loop
over a map, quote, default and toYaml.

usage: gen_chart.py N DIR
"""
import os
import sys

CHART_YAML = """apiVersion: v2
name: bench
version: 1.0.0
appVersion: "1.0"
description: render benchmark chart
"""

VALUES_YAML = """replicas: 3
image:
  repository: registry.example.com/team/app
  tag: "1.2.3"
settings:
  alpha: one
  bravo: two
  charlie: three
  delta: four
  echo: five
  foxtrot: six
config:
  server:
    port: 8080
    host: 0.0.0.0
    timeouts:
      read: 30s
      write: 30s
  features:
    - auth
    - metrics
    - tracing
  logLevel: info
"""

TERA_HELPERS = """{% component bench.labels(@Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ Release.Namespace }}
{%- endcomponent bench.labels %}
"""

GO_HELPERS = """{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .Release.Namespace }}
{{- end }}
"""

TERA_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-cm-%(n)d
  labels:
    {{- include(name="bench.labels") | nindent(n=4) }}
data:
  index: "%(n)d"
  replicas: {{ Values.replicas | quote }}
  image: {{ (Values.image.repository ~ ":" ~ Values.image.tag) | quote }}
  pullPolicy: {{ Values.pullPolicy | default(value="IfNotPresent") | quote }}
  {%%- for key, value in Values.settings %%}
  {{ key }}: {{ value | quote }}
  {%%- endfor %%}
  config.yaml: |
    {{- Values.config | toYaml | nindent(n=4) }}
"""

GO_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm-%(n)d
  labels:
    {{- include "bench.labels" . | nindent 4 }}
data:
  index: "%(n)d"
  replicas: {{ .Values.replicas | quote }}
  image: {{ printf "%%s:%%s" .Values.image.repository .Values.image.tag | quote }}
  pullPolicy: {{ .Values.pullPolicy | default "IfNotPresent" | quote }}
  {{- range $key, $value := .Values.settings }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
  config.yaml: |
    {{- toYaml .Values.config | nindent 4 }}
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# Only the tera twin is marked: rudder renders every other chart as Go templates, like helm.
TERA_ANNOTATION = """annotations:
  rudder.io/engine: tera
"""


def generate(n, root):
    for flavour, chart_yaml, helpers, template in (
        ("tera", CHART_YAML + TERA_ANNOTATION, TERA_HELPERS, TERA_TEMPLATE),
        ("gotpl", CHART_YAML, GO_HELPERS, GO_TEMPLATE),
    ):
        chart = os.path.join(root, flavour)
        write(os.path.join(chart, "Chart.yaml"), chart_yaml)
        write(os.path.join(chart, "values.yaml"), VALUES_YAML)
        write(os.path.join(chart, "templates", "_helpers.tpl"), helpers)
        for i in range(n):
            name = "cm-%04d.yaml" % i
            write(os.path.join(chart, "templates", name), template % {"n": i})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    generate(int(sys.argv[1]), sys.argv[2])
