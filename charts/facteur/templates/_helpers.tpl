{{/* Names ------------------------------------------------------------------------------- */}}

{{- define "facteur.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "facteur.fullname" -}}
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

{{/* A component's resource name: (dict "root" $ "component" "web") */}}
{{- define "facteur.componentName" -}}
{{- printf "%s-%s" (include "facteur.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels: the selector labels never change between chart versions. */}}
{{- define "facteur.selectorLabels" -}}
app.kubernetes.io/name: {{ include "facteur.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "facteur.labels" -}}
{{ include "facteur.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: facteur
{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.images.backend) */}}
{{- define "facteur.image" -}}
{{- $images := .root.Values.images -}}
{{- $tag := default .root.Chart.AppVersion $images.tag -}}
{{- if eq $tag "latest" }}{{ fail "images.tag: name an exact version, not latest" }}{{ end -}}
{{- $ref := printf "%s/%s:%s" $images.registry .image.repository $tag -}}
{{- if .image.digest }}{{ $ref = printf "%s@%s" $ref .image.digest }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/* Secrets ----------------------------------------------------------------------------- */}}

{{/* The Secret of the core keys: the user's, or the one all-in-one generates. */}}
{{- define "facteur.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.allInOne.enabled -}}
{{- include "facteur.componentName" (dict "root" . "component" "generated") -}}
{{- else -}}
{{- fail "secrets.existingSecret: name the Secret holding secret-key, service-token, database-url and redis-url (docs/operations.md#secrets), or set allInOne.enabled=true to try Facteur" -}}
{{- end -}}
{{- end -}}

{{/*
Every credential the backend reads, as a list of {env, secret, key}: mounted as files
under /etc/facteur/secrets/ and named by <ENV>_FILE (facteur/config/env.py reads them).
*/}}
{{- define "facteur.backendSecrets" -}}
{{- $default := include "facteur.secretName" . -}}
{{- $v := .Values -}}
{{- $items := list
  (dict "env" "FACTEUR_SECRET_KEY" "secret" $default "key" $v.secrets.keys.secretKey)
  (dict "env" "FACTEUR_SERVICE_TOKEN" "secret" $default "key" $v.secrets.keys.serviceToken)
  (dict "env" "DATABASE_URL" "secret" (default $default $v.postgresql.existingSecret) "key" $v.postgresql.urlKey)
  (dict "env" "REDIS_URL" "secret" (default $default $v.redis.existingSecret) "key" $v.redis.urlKey) -}}
{{- if $v.secrets.keys.dkimEncryptionKey -}}
{{- $items = append $items (dict "env" "FACTEUR_DKIM_ENCRYPTION_KEY" "secret" $default "key" $v.secrets.keys.dkimEncryptionKey) -}}
{{- end -}}
{{- if and (eq $v.config.sendingMode "relay") $v.relay.passwordKey -}}
{{- $items = append $items (dict "env" "FACTEUR_RELAY_PASSWORD" "secret" (default $default $v.relay.existingSecret) "key" $v.relay.passwordKey) -}}
{{- end -}}
{{- with $v.search.opensearch.existingSecret -}}
{{- if $v.search.opensearch.usernameKey -}}
{{- $items = append $items (dict "env" "FACTEUR_OPENSEARCH_USERNAME" "secret" . "key" $v.search.opensearch.usernameKey) -}}
{{- end -}}
{{- if $v.search.opensearch.passwordKey -}}
{{- $items = append $items (dict "env" "FACTEUR_OPENSEARCH_PASSWORD" "secret" . "key" $v.search.opensearch.passwordKey) -}}
{{- end -}}
{{- end -}}
{{- if $v.oidc.enabled -}}
{{- $items = append $items (dict "env" "OIDC_RP_CLIENT_SECRET" "secret" (default $default $v.oidc.existingSecret) "key" $v.oidc.clientSecretKey) -}}
{{- end -}}
{{- toJson $items -}}
{{- end -}}

{{/* Plain settings: the ConfigMap's data (also inlined in the migrations hook Job). */}}
{{- define "facteur.configData" -}}
{{- $v := .Values -}}
{{- $c := $v.config -}}
{{- $data := dict
  "DJANGO_SETTINGS_MODULE" "facteur.config.settings"
  "FACTEUR_PUBLIC_URL" (trimSuffix "/" $v.publicUrl)
  "FACTEUR_CSRF_TRUSTED_ORIGINS" (trimSuffix "/" $v.publicUrl)
  "FACTEUR_SECURE_COOKIES" (ternary "true" "false" (hasPrefix "https://" $v.publicUrl))
  "FACTEUR_LOCAL_ACCOUNTS" (toString $c.localAccounts)
  "FACTEUR_BROWSABLE_API" (toString $c.browsableApi)
  "FACTEUR_BEHIND_TLS_PROXY" (toString $c.behindTlsProxy)
  "FACTEUR_LOG_LEVEL" $c.logLevel
  "FACTEUR_SENDING_MODE" $c.sendingMode
  "FACTEUR_SEND_UNDO_SECONDS" (toString $c.sendUndoSeconds)
  "FACTEUR_MAX_UPLOAD_SIZE" (toString (int $c.maxUploadSize))
  "FACTEUR_MAX_MESSAGE_SIZE" (toString (int $c.maxMessageSize))
  "FACTEUR_TRASH_RETENTION_DAYS" (toString $c.trashRetentionDays)
  "FACTEUR_DKIM_SELECTOR" $c.dkimSelector
  "FACTEUR_SMTP_HELO_NAME" $c.smtpHeloName
  "FACTEUR_DB_CONN_MAX_AGE" (toString $v.postgresql.connMaxAge)
  "FACTEUR_LMTP_HOST" "0.0.0.0"
  "FACTEUR_LMTP_PORT" (toString $v.delivery.port)
  "FACTEUR_DELIVERY_WORKERS" (toString $v.delivery.workers)
  "FACTEUR_MAX_RECIPIENTS" (toString $v.delivery.maxRecipients)
  "FACTEUR_RELAY_HOST" (default "facteur-mta-out" $v.relay.host)
  "FACTEUR_RELAY_PORT" (toString $v.relay.port)
  "FACTEUR_RELAY_STARTTLS" (toString $v.relay.starttls)
  "FACTEUR_RELAY_USERNAME" $v.relay.username
  "OIDC_ENABLED" (toString $v.oidc.enabled) -}}
{{- if $v.relay.caConfigMap -}}
{{- $_ := set $data "FACTEUR_RELAY_CA_FILE" "/etc/facteur/relay-ca/ca.crt" -}}
{{- end -}}
{{- $s := $v.search -}}
{{- $_ := set $data "FACTEUR_SEARCH_BACKEND" $s.backend -}}
{{- $_ := set $data "FACTEUR_SEARCH_TIMEOUT_MS" (toString (int $s.timeoutMs)) -}}
{{- if or (eq $s.backend "opensearch") $s.reindex.enabled $s.opensearch.url -}}
{{- $_ := set $data "FACTEUR_OPENSEARCH_URL" (required "search.opensearch.url is required with search.backend=opensearch or search.reindex.enabled" $s.opensearch.url) -}}
{{- $_ := set $data "FACTEUR_OPENSEARCH_INDEX_PREFIX" $s.opensearch.indexPrefix -}}
{{- end -}}
{{- if and $s.opensearch.caConfigMap $s.opensearch.caSecret -}}
{{- fail "search.opensearch: set caConfigMap or caSecret, not both" -}}
{{- end -}}
{{- if or $s.opensearch.caConfigMap $s.opensearch.caSecret -}}
{{- $_ := set $data "FACTEUR_OPENSEARCH_CA_FILE" "/etc/facteur/opensearch-ca/ca.crt" -}}
{{- end -}}
{{- if $v.oidc.enabled -}}
{{- $o := $v.oidc -}}
{{- $_ := set $data "OIDC_RP_CLIENT_ID" (required "oidc.clientId is required when oidc.enabled" $o.clientId) -}}
{{- $_ := set $data "OIDC_OP_AUTHORIZATION_ENDPOINT" (required "oidc.authorizationEndpoint is required when oidc.enabled" $o.authorizationEndpoint) -}}
{{- $_ := set $data "OIDC_OP_TOKEN_ENDPOINT" (required "oidc.tokenEndpoint is required when oidc.enabled" $o.tokenEndpoint) -}}
{{- $_ := set $data "OIDC_OP_USER_ENDPOINT" (required "oidc.userEndpoint is required when oidc.enabled" $o.userEndpoint) -}}
{{- $_ := set $data "OIDC_OP_JWKS_ENDPOINT" (required "oidc.jwksEndpoint is required when oidc.enabled" $o.jwksEndpoint) -}}
{{- $_ := set $data "OIDC_OP_LOGOUT_ENDPOINT" $o.logoutEndpoint -}}
{{- $_ := set $data "OIDC_RP_SIGN_ALGO" $o.signAlgo -}}
{{- $_ := set $data "OIDC_RP_SCOPES" $o.scopes -}}
{{- $_ := set $data "OIDC_CREATE_USER" (toString $o.createUsers) -}}
{{- end -}}
{{- if and (not $c.localAccounts) (not $v.oidc.enabled) -}}
{{- fail "config.localAccounts=false and oidc.enabled=false: nobody could log in" -}}
{{- end -}}
{{- range $name, $value := $c.extraEnv -}}
{{- $_ := set $data $name (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* The environment of every backend container (after envFrom the ConfigMap). */}}
{{- define "facteur.backendEnv" -}}
- name: POD_IP
  valueFrom:
    fieldRef: {fieldPath: status.podIP}
# The public host, the web Service's names (operator, policy service) and the pod's own
# address (kubelet probes, Prometheus scrapes; bracketed as an IPv6 Host header has it) are
# the Host headers Django accepts.
- name: FACTEUR_ALLOWED_HOSTS
  value: {{ printf "%s,%s,%s.%s.svc,localhost,$(POD_IP),[$(POD_IP)]" (urlParse .Values.publicUrl).hostname (include "facteur.componentName" (dict "root" . "component" "web")) (include "facteur.componentName" (dict "root" . "component" "web")) .Release.Namespace | quote }}
{{- range (include "facteur.backendSecrets" . | fromJsonArray) }}
- name: {{ .env }}_FILE
  value: /etc/facteur/secrets/{{ .env }}
{{- end }}
{{- range .Values.secrets.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef: {name: {{ .secretName }}, key: {{ .key }}}
{{- end }}
{{- end -}}

{{/* Volumes of every backend pod: the secrets as files, /tmp, the relay's and OpenSearch's CAs. */}}
{{- define "facteur.backendVolumes" -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
    {{- range (include "facteur.backendSecrets" . | fromJsonArray) }}
      - secret:
          name: {{ .secret }}
          items: [{key: {{ .key }}, path: {{ .env }}}]
    {{- end }}
- name: tmp
  emptyDir: {sizeLimit: 256Mi}
{{- if .Values.relay.caConfigMap }}
- name: relay-ca
  configMap: {name: {{ .Values.relay.caConfigMap }}}
{{- end }}
{{- with .Values.search.opensearch }}
{{- if .caConfigMap }}
- name: opensearch-ca
  configMap: {name: {{ .caConfigMap }}, items: [{key: {{ .caKey }}, path: ca.crt}]}
{{- else if .caSecret }}
- name: opensearch-ca
  secret: {secretName: {{ .caSecret }}, items: [{key: {{ .caKey }}, path: ca.crt}]}
{{- end }}
{{- end }}
{{- end -}}

{{- define "facteur.backendVolumeMounts" -}}
- {name: secrets, mountPath: /etc/facteur/secrets, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- if .Values.relay.caConfigMap }}
- {name: relay-ca, mountPath: /etc/facteur/relay-ca, readOnly: true}
{{- end }}
{{- if or .Values.search.opensearch.caConfigMap .Values.search.opensearch.caSecret }}
- {name: opensearch-ca, mountPath: /etc/facteur/opensearch-ca, readOnly: true}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every workload: (dict "root" $ "values" .Values.web) */}}
{{- define "facteur.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the configuration's checksum rolls the pods when it changes. */}}
{{- define "facteur.backendPodAnnotations" -}}
checksum/config: {{ include "facteur.configData" .root | sha256sum }}
checksum/secret-refs: {{ include "facteur.backendSecrets" .root | sha256sum }}
{{- with .values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "facteur.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}
