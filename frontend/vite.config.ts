/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

// Django serves the built app: dist/index.html for every page of the webmail, and
// dist/assets/ from /static/webmail/assets/ (collectstatic copies it; docs/webmail.md).
const backend = process.env.FACTEUR_BACKEND ?? "http://127.0.0.1:8000";

/** Writes .gz and .br beside each asset: WhiteNoise serves them to browsers that accept them. */
function precompress(): Plugin {
  return {
    name: "facteur-precompress",
    apply: "build",
    writeBundle(options) {
      const dir = join(options.dir ?? "dist", "assets");
      for (const name of readdirSync(dir)) {
        if (!/\.(js|css|svg|json)$/.test(name)) continue;
        const data = readFileSync(join(dir, name));
        writeFileSync(join(dir, `${name}.gz`), gzipSync(data, { level: 9 }));
        writeFileSync(
          join(dir, `${name}.br`),
          brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        );
      }
    },
  };
}

export default defineConfig(({ command }) => ({
  base: command === "build" ? "/static/webmail/" : "/",
  plugins: [react(), precompress()],
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
    // Whole-app renders with axe take seconds on a loaded machine (CI shares its cores).
    testTimeout: 15_000,
  },
}));
