// The API client is generated from the backend's committed schema: `npm run api`
// rewrites src/api/generated/, and `npm run api:check` fails when it is stale.
import { defineConfig } from "orval";

export default defineConfig({
  facteur: {
    input: { target: "../backend/openapi.yaml" },
    output: {
      mode: "tags-split",
      target: "src/api/generated/endpoints",
      schemas: "src/api/generated/model",
      client: "react-query",
      httpClient: "fetch",
      clean: true,
      prettier: false,
      override: {
        mutator: { path: "src/api/http.ts", name: "apiFetch" },
        // Plain data from every call; failures are thrown as ApiError (src/api/http.ts).
        fetch: { includeHttpResponseReturnType: false },
        query: { useQuery: true, useMutation: true, signal: true },
        operations: {
          // The thread list pages by keyset cursor: an infinite query passes it back.
          threads_list: {
            query: { useQuery: true, useInfinite: true, useInfiniteQueryParam: "cursor" },
          },
        },
      },
    },
  },
});
