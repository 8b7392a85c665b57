{{- /* Named after the alias when the parent renames this chart (.Chart.Name is the alias). */ -}}
{{ define "backend.fullname" -}}
{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
