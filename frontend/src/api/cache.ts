import type { QueryClient } from "@tanstack/react-query";

/** Refetches every cached answer of the API paths starting with one of `prefixes`. */
export function invalidatePaths(queryClient: QueryClient, ...prefixes: string[]): Promise<void> {
  return queryClient.invalidateQueries({
    predicate: (query) =>
      query.queryKey.some(
        (part) => typeof part === "string" && prefixes.some((prefix) => part.startsWith(prefix)),
      ),
  });
}

/** After a flag, label or sending change: the lists, the thread, the unread counts, the outbox. */
export function invalidateMail(queryClient: QueryClient): Promise<void> {
  return invalidatePaths(queryClient, "/api/v1.0/threads/", "/api/v1.0/mailboxes/", "/api/v1.0/outbox/");
}
