{{/*
One service's Deployment: (dict "ctx" $ "component" "ingress" "svc" .Values.ingress "env" "...")
Runs `/hookline <component>` with a restricted security context; probes /health/live and
/health/ready on the service's port.
*/}}
{{- define "hookline.deployment" -}}
{{- $ctx := .ctx -}}
{{- $sel := dict "ctx" $ctx "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "hookline.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "hookline.componentLabels" $sel | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .svc.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "hookline.componentSelector" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "hookline.componentLabels" $sel | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
        {{- if not $ctx.Values.existingSecret }}
        checksum/secret: {{ include (print $ctx.Template.BasePath "/secret.yaml") $ctx | sha256sum }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "hookline.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      {{- with $ctx.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $ctx.Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "hookline.podSecurityContext" $ctx | nindent 8 }}
      {{- if $ctx.Values.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
        - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
          topologyKey: {{ $key }}
          whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "hookline.componentSelector" $sel | nindent 14 }}
        {{- end }}
      {{- end }}
      {{- with .svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "hookline.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          command: ["/hookline", {{ .component | quote }}]
          ports:
            - name: http
              containerPort: {{ .svc.port }}
              protocol: TCP
            {{- with .svc.metricsPort }}
            - name: metrics
              containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          env:
            {{- include "hookline.commonEnv" (dict "ctx" $ctx "port" .svc.port) | nindent 12 }}
            {{- with .svc.metricsPort }}
            - name: METRICS_PORT
              value: {{ . | quote }}
            {{- end }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- include "hookline.tlsEnv" $sel | nindent 12 }}
          startupProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /health/ready, port: http }
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          resources:
            {{- toYaml .svc.resources | nindent 12 }}
          securityContext:
            {{- include "hookline.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: sources
              mountPath: /etc/hookline
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- with (include "hookline.tlsMounts" $sel | trim) }}{{ . | nindent 12 }}{{ end }}
      volumes:
        - name: sources
          configMap:
            name: {{ include "hookline.fullname" $ctx }}-sources
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with (include "hookline.tlsVolumes" $sel | trim) }}{{ . | nindent 8 }}{{ end }}
{{- end -}}
