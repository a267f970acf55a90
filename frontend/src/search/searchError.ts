import type { TFunction } from "i18next";

import { errorMessage, shouldRetry } from "../api/errors";
import { ApiError } from "../api/http";

/** Why a search failed, for people: the API's reason for a refused query, advice on a timeout. */
export function searchErrorMessage(error: unknown, t: TFunction): string {
  if (error instanceof ApiError && error.status === 400) {
    const reasons = error.fieldErrors.search ?? error.fieldErrors.cursor;
    if (reasons?.length) return t("search.refused", { reason: reasons.join(" ") });
  }
  if (error instanceof ApiError && error.status === 503) return t("search.timeout");
  return errorMessage(error, t);
}

/** A search that timed out would time out again: only network failures and other 5xx are retried. */
export function shouldRetrySearch(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status === 503) return false;
  return shouldRetry(failureCount, error);
}
