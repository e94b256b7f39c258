// Builds the web app into dist/, which circled serves (--web-root). Assets get
// content hashes in their names so circled can let browsers cache them for
// good; nothing is inlined, so the Content-Security-Policy needs no
// 'unsafe-inline'.
import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  // Vitest runs a Vite server in-process: give it an address rather than
  // "localhost", which a minimal machine may not resolve.
  server: { host: "127.0.0.1", hmr: false },
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
