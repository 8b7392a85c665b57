{{- define "patterns.pair" -}}
{{- $root := index . 0 -}}
{{- $item := index . 1 -}}
{{ $root.Release.Name }}-{{ $item.name }}
{{- end -}}
