// Runs one write of a form or dialog, then refetches what it affects (`refresh`, also
// after a failure: the server may have changed meanwhile); keeps the last failure to
// show it, with the API's reason, next to what failed.
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useState } from "react";

export function useChange(refresh: (queryClient: QueryClient) => Promise<unknown>) {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  /** `done` runs as soon as the write succeeded, before the refetch (a form clears at once). */
  const run = async (action: () => Promise<unknown>, done?: () => void): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      done?.();
      return true;
    } catch (failure) {
      setError(failure);
      return false;
    } finally {
      await refresh(queryClient);
      setBusy(false);
    }
  };
  return { busy, error, run };
}
