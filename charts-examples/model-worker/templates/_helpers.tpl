{% component worker.fullname(@Release, @Chart) -%}
{%- if Chart.Name in Release.Name -%}
{{ Release.Name | trunc(n=63) | trimSuffix(suffix="-") }}
{%- else -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endif -%}
{%- endcomponent worker.fullname %}

{% component worker.selectorLabels(@Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
{%- endcomponent worker.selectorLabels %}

{% component worker.labels(@Release, @Chart) -%}
{{ include(name="worker.selectorLabels") }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ Release.Service }}
{%- endcomponent worker.labels %}

{#- The pod spec both workload kinds share. -#}
{% component worker.podSpec(@Values, @Release, @Chart) -%}
containers:
  - name: server
    image: "{{ Values.image.repository }}:{{ Values.image.tag | default(value=Chart.AppVersion) }}"
    imagePullPolicy: {{ Values.image.pullPolicy }}
    args:
      - --model={{ Values.model.path }}/{{ Values.model.name }}
      - --max-batch-size={{ Values.model.maxBatchSize }}
      - --port={{ Values.containerPort }}
    ports:
      - name: http
        containerPort: {{ Values.containerPort }}
    readinessProbe:
      httpGet:
        path: /v1/health/ready
        port: http
      periodSeconds: 10
      failureThreshold: 30
    resources:
      requests:
        cpu: {{ Values.resources.requests.cpu | quote }}
        memory: {{ Values.resources.requests.memory }}
        {%- if Values.resources.gpus > 0 %}
        nvidia.com/gpu: {{ Values.resources.gpus }}
        {%- endif %}
      limits:
        cpu: {{ Values.resources.limits.cpu | quote }}
        memory: {{ Values.resources.limits.memory }}
        {%- if Values.resources.gpus > 0 %}
        nvidia.com/gpu: {{ Values.resources.gpus }}
        {%- endif %}
    volumeMounts:
      {%- if Values.sharedMemory.enabled %}
      - name: dshm
        mountPath: /dev/shm
      {%- endif %}
      - name: model-cache
        mountPath: {{ Values.model.path }}
volumes:
  {%- if Values.sharedMemory.enabled %}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ Values.sharedMemory.sizeLimit }}
  {%- endif %}
  {%- if Values.workload != "StatefulSet" %}
  - name: model-cache
    emptyDir: {}
  {%- endif %}
{%- if Values.nodeSelector %}
nodeSelector:
  {{- Values.nodeSelector | toYaml | nindent(n=2) }}
{%- endif %}
{%- if Values.tolerations %}
tolerations:
  {{- Values.tolerations | toYaml | nindent(n=2) }}
{%- endif %}
{%- endcomponent worker.podSpec %}
