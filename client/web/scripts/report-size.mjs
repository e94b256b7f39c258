// Reports the built app's size, gzipped, and fails the build over the budget
// (150 KiB of JavaScript and CSS): the app has to open fast on a phone.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const kBudgetBytes = 150 * 1024;
const dist = fileURLToPath(new URL("../dist/assets/", import.meta.url));
let total = 0;
for (const name of readdirSync(dist)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const size = gzipSync(readFileSync(join(dist, name))).length;
  total += size;
  console.log(`  ${name}: ${(size / 1024).toFixed(1)} KiB gzipped`);
}
console.log(
  `web app: ${(total / 1024).toFixed(1)} KiB gzipped (budget ${kBudgetBytes / 1024} KiB)`,
);
if (total > kBudgetBytes) {
  console.error("web app: over its size budget");
  process.exit(1);
}
