/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Django serves the built app: index.html for every page of the webmail, the assets
// from /static/webmail/ (collectstatic copies dist/ there; see docs/webmail.md).
const backend = process.env.FACTEUR_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig(({ command }) => ({
  base: command === "build" ? "/static/webmail/" : "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Hex content hashes of 12 characters: the names Django's static files use too.
    rolldownOptions: {
      output: {
        hashCharacters: "hex",
        entryFileNames: "assets/[name].[hash:12].js",
        chunkFileNames: "assets/[name].[hash:12].js",
        assetFileNames: "assets/[name].[hash:12][extname]",
      },
    },
  },
  server: {
    // The dev server forwards the API to a running backend (scripts/run). Django
    // checks the Origin of unsafe requests, so it is made the backend's own.
    proxy: Object.fromEntries(
      ["/api", "/oidc", "/admin", "/static/admin"].map((prefix) => [
        prefix,
        { target: backend, changeOrigin: true, headers: { Origin: backend } },
      ]),
    ),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    css: false,
    restoreMocks: true,
  },
}));
