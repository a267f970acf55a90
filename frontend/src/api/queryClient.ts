import { QueryClient } from "@tanstack/react-query";

import { shouldRetry } from "./errors";

/** How often the mailbox counts and the open list are refreshed (new mail). */
export const POLL_MS = 60_000;

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 15_000, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}
