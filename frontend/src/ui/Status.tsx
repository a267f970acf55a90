import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";

import { errorMessage } from "../api/errors";

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      {label ?? t("common.loading")}
    </p>
  );
}

/** An API failure, readable, with a way to try again when that can help. */
export function ErrorMessage({
  error,
  onRetry,
  describe = errorMessage,
}: {
  error: unknown;
  onRetry?: () => void;
  /** The sentence for this error, when the place knows better than the general one (a search). */
  describe?: (error: unknown, t: TFunction) => string;
}) {
  const { t } = useTranslation();
  return (
    <div className="error" role="alert">
      <p>{describe(error, t)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t("common.retry")}
        </button>
      )}
    </div>
  );
}
