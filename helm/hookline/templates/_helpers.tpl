{{- define "hookline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hookline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hookline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hookline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "hookline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hookline
{{- end -}}

{{/* Labels of one service's objects: (dict "ctx" $ "component" "ingress") */}}
{{- define "hookline.componentLabels" -}}
{{ include "hookline.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hookline.componentSelector" -}}
{{ include "hookline.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hookline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hookline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hookline.secretName" -}}
{{- default (include "hookline.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "hookline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* One env var from the chart's (or the existing) Secret: (dict "ctx" $ "name" "DATABASE_URL") */}}
{{- define "hookline.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ default (include "hookline.secretName" .ctx) .secret }}
      key: {{ .name }}
{{- end -}}

{{/* Env every service shares: (dict "ctx" $ "port" 8080) */}}
{{- define "hookline.commonEnv" -}}
{{ include "hookline.baseEnv" . }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .port | quote }}
- name: HOOKLINE_SOURCES
  value: /etc/hookline/sources.yaml
{{- range $name, $_ := .ctx.Values.secrets.sources }}
{{ include "hookline.secretEnv" (dict "ctx" $.ctx "name" $name "secret" $.secret) }}
{{- end }}
{{- end -}}

{{/* Env of every workload, the provision Job included: (dict "ctx" $ ["secret" NAME]) */}}
{{- define "hookline.baseEnv" -}}
- name: HOOKLINE_ENV
  value: production
- name: LOG_LEVEL
  value: {{ .ctx.Values.logLevel | quote }}
{{ include "hookline.secretEnv" (dict "ctx" .ctx "name" "NATS_URL" "secret" .secret) }}
{{- with .ctx.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $.ctx.Values.otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $.ctx.Values.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $.ctx.Values.otel.samplerArg | quote }}
{{- $attrs := list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE_NAME)" }}
{{- range $k, $v := $.ctx.Values.otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- end -}}

{{/* STREAM_* env of the provisioning services. */}}
{{- define "hookline.streamEnv" -}}
{{- with .Values.stream.replicas }}
- name: STREAM_REPLICAS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.stream.maxBytes }}
- name: STREAM_MAX_BYTES
  value: {{ . | int64 | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.stream.dlqMaxAgeDays) }}
- name: DLQ_MAX_AGE_DAYS
  value: {{ .Values.stream.dlqMaxAgeDays | quote }}
{{- end }}
{{- end -}}

{{/* Pod securityContext of every workload (Deployments and the provision Job): restricted. */}}
{{- define "hookline.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container securityContext of every workload: restricted, read-only root. */}}
{{- define "hookline.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* HOOKLINE_PROVISION of a service: false while the provision Job provisions instead. */}}
{{- define "hookline.provisionEnv" -}}
- name: HOOKLINE_PROVISION
  value: {{ and .svc.provision (not .ctx.Values.provisionJob.enabled) | toString | quote }}
{{- end -}}

{{/* Secret the provision Job reads: the existing one, or a hook Secret created before it
(the release's own Secret does not exist yet at pre-install). */}}
{{- define "hookline.provisionSecretName" -}}
{{- default (printf "%s-provision" (include "hookline.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* The connections each workload makes (so the TLS files it gets): (component name) */}}
{{- define "hookline.connections" -}}
{{- $made := dict "ingress" "nats redis" "projector" "nats postgres redis" "dashboard" "nats postgres redis" "provision" "nats postgres" -}}
{{- index $made . -}}
{{- end -}}

{{/* TLS env of a workload: (dict "ctx" $ "component" "ingress"); files from tls.<conn>.secretName. */}}
{{- define "hookline.tlsEnv" -}}
- name: TLS_MIN_VERSION
  value: {{ .ctx.Values.tls.minVersion | quote }}
- name: ALLOW_INSECURE_CONNECTIONS
  value: {{ .ctx.Values.tls.allowInsecureConnections | toString | quote }}
{{- range $conn := splitList " " (include "hookline.connections" .component) }}
{{- $t := index $.ctx.Values.tls $conn }}
{{- if $t.secretName }}
{{- $var := index (dict "nats" "NATS" "postgres" "DATABASE" "redis" "REDIS") $conn }}
- name: {{ $var }}_TLS_CA
  value: /etc/hookline-tls/{{ $conn }}/ca.crt
{{- if $t.clientCertificate }}
- name: {{ $var }}_TLS_CERT
  value: /etc/hookline-tls/{{ $conn }}/tls.crt
- name: {{ $var }}_TLS_KEY
  value: /etc/hookline-tls/{{ $conn }}/tls.key
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* volumeMounts of the TLS files: (dict "ctx" $ "component" "ingress") */}}
{{- define "hookline.tlsMounts" -}}
{{- range $conn := splitList " " (include "hookline.connections" .component) }}
{{- if (index $.ctx.Values.tls $conn).secretName }}
- name: tls-{{ $conn }}
  mountPath: /etc/hookline-tls/{{ $conn }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* volumes of the TLS files: only the keys the workload uses, readable by its group only. */}}
{{- define "hookline.tlsVolumes" -}}
{{- range $conn := splitList " " (include "hookline.connections" .component) }}
{{- $t := index $.ctx.Values.tls $conn }}
{{- if $t.secretName }}
- name: tls-{{ $conn }}
  secret:
    secretName: {{ $t.secretName }}
    defaultMode: 288  # 0440 in octal, written in decimal: YAML 1.1 and 1.2 parsers read 0440 differently
    items:
      - { key: ca.crt, path: ca.crt }
      {{- if $t.clientCertificate }}
      - { key: tls.crt, path: tls.crt }
      - { key: tls.key, path: tls.key }
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}
