{{/*
Names. With the release named mcp-admission every object gets the name
`kubectl apply -k deploy/` gives it, so the two installs read the same.
*/}}
{{- define "mcp-admission.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mcp-admission.webhookName" -}}{{ include "mcp-admission.fullname" . }}-webhook{{- end -}}
{{- define "mcp-admission.proberName" -}}{{ include "mcp-admission.fullname" . }}-prober{{- end -}}
{{- define "mcp-admission.metricsName" -}}{{ include "mcp-admission.fullname" . }}-metrics{{- end -}}
{{- define "mcp-admission.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- required "certificates.existingSecret.name is required with certificates.mode=existingSecret" .Values.certificates.existingSecret.name -}}
{{- else -}}
{{- include "mcp-admission.webhookName" . }}-tls
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "mcp-admission.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: mcp-admission
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of the webhook pods. */}}
{{- define "mcp-admission.webhookSelector" -}}
app.kubernetes.io/name: mcp-admission
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "mcp-admission.proberSelector" -}}
app.kubernetes.io/name: mcp-admission
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: prober
{{- end -}}

{{/* The image: a digest wins over the tag; the tag defaults to the chart's appVersion. */}}
{{- define "mcp-admission.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Namespaces the webhooks never see: the system ones, the configured ones, and always our own. */}}
{{- define "mcp-admission.excludedNamespaces" -}}
{{- $namespaces := concat .Values.webhook.excludedNamespaces (list .Release.Namespace) | uniq -}}
{{- toJson $namespaces -}}
{{- end -}}

{{/* The caBundle of the webhook configurations, where the chart knows it. */}}
{{- define "mcp-admission.caBundle" -}}
{{- if eq .Values.certificates.mode "existingSecret" -}}
{{- $bundle := .Values.certificates.existingSecret.caBundle -}}
{{- if not $bundle -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace .Values.certificates.existingSecret.name -}}
{{- if $secret -}}{{- $bundle = index $secret.data "ca.crt" -}}{{- end -}}
{{- end -}}
{{- required "certificates.existingSecret.caBundle is required with certificates.mode=existingSecret (base64 PEM of the CA, e.g. certs/out/ca-bundle.b64), unless the Secret already holds ca.crt" $bundle -}}
{{- end -}}
{{- end -}}

{{/* The pods' shared security settings: restricted Pod Security. */}}
{{- define "mcp-admission.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "mcp-admission.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The prober pod: `probe --watch` with its metrics port (Deployment) or `probe --once` (CronJob). */}}
{{- define "mcp-admission.proberPod" -}}
serviceAccountName: {{ include "mcp-admission.proberName" . }}
enableServiceLinks: false
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: prober
    image: {{ include "mcp-admission.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    {{- if eq .Values.prober.mode "watch" }}
    command: ["node", "dist/cli/main.js", "probe", "--watch", "--metrics-port", "9090"]
    {{- else }}
    command: ["node", "dist/cli/main.js", "probe", "--once"]
    {{- end }}
    env:
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
    {{- if eq .Values.prober.mode "watch" }}
    ports:
      - name: metrics
        containerPort: 9090
        protocol: TCP
    readinessProbe:
      httpGet:
        path: /healthz
        port: metrics
      periodSeconds: 10
      failureThreshold: 3
    livenessProbe:
      httpGet:
        path: /healthz
        port: metrics
      initialDelaySeconds: 10
      periodSeconds: 20
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml .Values.prober.resources | nindent 6 }}
    securityContext:
      {{- include "mcp-admission.containerSecurityContext" . | nindent 6 }}
{{- end }}
