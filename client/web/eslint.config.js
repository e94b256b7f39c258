import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "./scripts/eslint-globals.js";

export default tseslint.config(
  { ignores: ["dist/", "src/gen/", "node_modules/", "test-results/", "playwright-report/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      eqeqeq: "error",
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // Build scripts run in Node and report what they did.
    files: ["scripts/**/*.mjs", "scripts/**/*.js"],
    languageOptions: { globals: globals.node },
    rules: { "no-console": "off" },
  },
);
