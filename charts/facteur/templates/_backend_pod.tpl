{{/* A backend container other than the web's: (dict "root" $ "name" "worker"
     "values" .Values.worker "command" (list ...) "probe" (dict ...); optional "ports", "env",
     "mounts") — the same image,
     configuration, secrets and security settings, its own command and probes. */}}
{{- define "facteur.backendContainer" -}}
- name: {{ .name }}
  image: {{ include "facteur.image" (dict "root" .root "image" .root.Values.images.backend) }}
  imagePullPolicy: {{ .root.Values.images.pullPolicy }}
  command:
    {{- toYaml .command | nindent 4 }}
  {{- with .ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  envFrom:
    - configMapRef:
        name: {{ include "facteur.componentName" (dict "root" .root "component" "config") }}
  env:
    {{- include "facteur.backendEnv" .root | nindent 4 }}
    {{- with .env }}{{ toYaml . | nindent 4 }}{{ end }}
  {{- with .probe }}
  startupProbe:
    {{- toYaml .handler | nindent 4 }}
    periodSeconds: {{ .startupPeriod | default 5 }}
    timeoutSeconds: {{ .timeout | default 3 }}
    failureThreshold: {{ .startupFailures | default 24 }}
  livenessProbe:
    {{- toYaml .handler | nindent 4 }}
    periodSeconds: {{ .period | default 10 }}
    timeoutSeconds: {{ .timeout | default 3 }}
    failureThreshold: 3
  readinessProbe:
    {{- toYaml .handler | nindent 4 }}
    periodSeconds: {{ .period | default 10 }}
    timeoutSeconds: {{ .timeout | default 3 }}
    failureThreshold: 2
  {{- end }}
  resources:
    {{- toYaml .values.resources | nindent 4 }}
  securityContext:
    {{- include "facteur.containerSecurityContext" .root | nindent 4 }}
  volumeMounts:
    {{- include "facteur.backendVolumeMounts" .root | nindent 4 }}
    {{- with .mounts }}{{ toYaml . | nindent 4 }}{{ end }}
{{- end -}}
