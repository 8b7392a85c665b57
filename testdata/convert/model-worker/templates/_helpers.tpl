{{ define "worker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}
{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end }}

{{ define "worker.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{ define "worker.labels" -}}
{{ include "worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- /* The pod spec both workload kinds share. */ -}}
{{ define "worker.podSpec" -}}
containers:
  - name: server
    image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - --model={{ .Values.model.path }}/{{ .Values.model.name }}
      - --max-batch-size={{ .Values.model.maxBatchSize }}
      - --port={{ .Values.containerPort }}
    ports:
      - name: http
        containerPort: {{ .Values.containerPort }}
    readinessProbe:
      httpGet:
        path: /v1/health/ready
        port: http
      periodSeconds: 10
      failureThreshold: 30
    resources:
      requests:
        cpu: {{ .Values.resources.requests.cpu | quote }}
        memory: {{ .Values.resources.requests.memory }}
        {{- if gt (float64 .Values.resources.gpus) 0.0 }}
        nvidia.com/gpu: {{ .Values.resources.gpus }}
        {{- end }}
      limits:
        cpu: {{ .Values.resources.limits.cpu | quote }}
        memory: {{ .Values.resources.limits.memory }}
        {{- if gt (float64 .Values.resources.gpus) 0.0 }}
        nvidia.com/gpu: {{ .Values.resources.gpus }}
        {{- end }}
    volumeMounts:
      {{- if .Values.sharedMemory.enabled }}
      - name: dshm
        mountPath: /dev/shm
      {{- end }}
      - name: model-cache
        mountPath: {{ .Values.model.path }}
volumes:
  {{- if .Values.sharedMemory.enabled }}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ .Values.sharedMemory.sizeLimit }}
  {{- end }}
  {{- if ne .Values.workload "StatefulSet" }}
  - name: model-cache
    emptyDir: {}
  {{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
