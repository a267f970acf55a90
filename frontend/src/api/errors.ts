import type { TFunction } from "i18next";

import { ApiError } from "./http";

/** A sentence for people: what went wrong, in their language. */
export function errorMessage(error: unknown, t: TFunction): string {
  if (!(error instanceof ApiError)) return t("errors.unexpected");
  if (error.isNetworkError) return t("errors.network");
  switch (error.status) {
    case 400: {
      const fields = Object.entries(error.fieldErrors)
        .map(([field, reasons]) => `${field}: ${reasons.join(" ")}`)
        .join("; ");
      return t("errors.badRequest", { detail: fields || error.detail });
    }
    case 401:
      return t("errors.unauthorized");
    case 403:
      // The API says why (a role too low, a mailbox the operator manages): say it too.
      return error.detail ? t("errors.forbiddenBecause", { detail: error.detail }) : t("errors.forbidden");
    case 404:
      return t("errors.notFound");
    case 409:
      return t("errors.conflict", { detail: error.detail });
    case 413:
      return t("errors.tooLarge");
    case 429:
      return error.retryAfter !== null
        ? t("errors.throttledFor", { count: Math.max(1, Math.ceil(error.retryAfter / 60)) })
        : t("errors.throttled");
    default:
      return error.status >= 500 ? t("errors.server") : t("errors.unexpected");
  }
}

/** 4xx answers will not change if asked again; network and server errors may. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}
