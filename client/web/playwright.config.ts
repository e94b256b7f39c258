// Browser tests: Debian's Chromium (never a downloaded browser) driven by
// Playwright against the real circled over TLS on 127.0.0.1. Each test file
// starts its own circled (test/browser/circled.ts). Chromium trusts exactly
// the test server's key (by its SPKI hash), nothing more.
import { defineConfig } from "@playwright/test";
import { kChromiumArgs } from "./test/browser/circled";

export default defineConfig({
  testDir: "test/browser",
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: process.env.CI ? 1 : 2,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.CIRCLE_CHROMIUM ?? "/usr/bin/chromium",
      args: kChromiumArgs,
    },
    trace: "off",
  },
});
