{{/* The name of every object of the release, cut to the 63 characters Kubernetes allows. */}}
{{- define "lava-runner.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the pods: never change them in an upgrade (selectors are immutable). */}}
{{- define "lava-runner.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lava-runner.labels" -}}
{{ include "lava-runner.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Secret holding the runner token: the user's own, or the one this chart creates. */}}
{{- define "lava-runner.secretName" -}}
{{- if .Values.gitlab.existingSecret -}}
{{- .Values.gitlab.existingSecret -}}
{{- else -}}
{{- include "lava-runner.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "lava-runner.secretKey" -}}
{{- if .Values.gitlab.existingSecret -}}
{{- .Values.gitlab.existingSecretKey -}}
{{- else -}}
token
{{- end -}}
{{- end -}}
