import { useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";

import { errorMessage } from "../api/errors";
import { useAuthConfig, useAuthLogin } from "../api/generated/endpoints/auth/auth";
import { getUsersMeRetrieveQueryKey } from "../api/generated/endpoints/users/users";
import { ApiError } from "../api/http";
import { safeNext } from "../app/paths";
import { applyLanguage, isLanguage } from "../i18n";
import { LanguagePicker } from "../ui/LanguagePicker";
import { ErrorMessage, Loading } from "../ui/Status";

export function LoginPage() {
  const { t } = useTranslation();
  const [search] = useSearchParams();
  const next = safeNext(search.get("next"));
  const config = useAuthConfig({ query: { staleTime: Infinity } });

  return (
    <main className="login-page">
      <div className="login-card">
        <h1>{t("login.title")}</h1>
        {config.isPending && <Loading />}
        {config.error && <ErrorMessage error={config.error} onRetry={() => void config.refetch()} />}
        {config.data && (
          <>
            {config.data.local_accounts && <LocalLoginForm next={next} />}
            {config.data.oidc && config.data.oidc_login_url && (
              <a className="button primary oidc" href={oidcUrl(config.data.oidc_login_url, next)}>
                {t("login.oidc")}
              </a>
            )}
            {!config.data.local_accounts && !config.data.oidc && (
              <p role="alert">{t("login.noMethod")}</p>
            )}
          </>
        )}
        <LanguagePicker />
      </div>
    </main>
  );
}

function oidcUrl(loginUrl: string, next: string): string {
  const separator = loginUrl.includes("?") ? "&" : "?";
  return `${loginUrl}${separator}next=${encodeURIComponent(next)}`;
}

function LocalLoginForm({ next }: { next: string }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const login = useAuthLogin();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const errorId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate(
      { data: { email: email.trim(), password } },
      {
        onSuccess: (user) => {
          queryClient.setQueryData(getUsersMeRetrieveQueryKey(), user);
          if (isLanguage(user.language)) void applyLanguage(i18n, user.language);
          void navigate(next, { replace: true });
        },
      },
    );
  };

  const error = login.error;
  const message =
    error instanceof ApiError && error.status === 400 && !Object.keys(error.fieldErrors).length
      ? t("login.wrongCredentials")
      : error
        ? errorMessage(error, t)
        : null;

  return (
    <form className="login-form" onSubmit={submit} aria-describedby={message ? errorId : undefined}>
      <label>
        {t("login.email")}
        <input
          type="email"
          name="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
      </label>
      <label>
        {t("login.password")}
        <input
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
      </label>
      {message && (
        <p id={errorId} className="error" role="alert">
          {message}
        </p>
      )}
      <button type="submit" className="primary" disabled={login.isPending}>
        {login.isPending ? t("login.submitting") : t("login.submit")}
      </button>
    </form>
  );
}
