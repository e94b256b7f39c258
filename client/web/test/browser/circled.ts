// A real circled for browser tests: started on free ports with the test
// certificate (ctest's make_test_certs), its web app from client/web/dist,
// stopped at the end. Paths come from ctest's environment, or default to
// the release build for a run by hand.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const source = resolve(web, "..", "..");
export const kCircled = process.env.CIRCLE_CIRCLED ?? join(source, "build/release/server/circled");
export const kCircle = process.env.CIRCLE_CLIENT ?? join(source, "build/release/client/circle");
export const kCertDir = process.env.CIRCLE_TEST_CERT_DIR ?? join(source, "certs/dev");

// Chromium trusts the test server's key and nothing else extra; no calls
// home (this machine has no network beyond loopback).
function spkiHash(): string {
  const pem = readFileSync(join(kCertDir, "server.crt"));
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
export const kChromiumArgs = [
  `--ignore-certificate-errors-spki-list=${spkiHash()}`,
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
];

export class Circled {
  private constructor(
    private readonly process: ChildProcess,
    private readonly dataDir: string,
    readonly webUrl: string,
    readonly wsUrl: string,
  ) {}

  static async start(extraArgs: string[] = []): Promise<Circled> {
    const dataDir = mkdtempSync(join(tmpdir(), "circle-web-test-"));
    const child = spawn(
      kCircled,
      [
        "--port=0",
        "--web-port=0",
        "--no-metrics",
        `--data-dir=${dataDir}`,
        `--cert=${join(kCertDir, "server.crt")}`,
        `--key=${join(kCertDir, "server.key")}`,
        `--web-root=${join(web, "dist")}`,
        "--log-level=warn",
        ...extraArgs,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const urls = await new Promise<{ web: string; ws: string }>((done, fail) => {
      let output = "";
      const deadline = setTimeout(
        () => fail(new Error(`circled did not start: ${output}`)),
        20_000,
      );
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const ws = /listening on (\S+)/.exec(output)?.[1];
        const webUrl = /web app on (\S+)/.exec(output)?.[1];
        if (ws && webUrl) {
          clearTimeout(deadline);
          done({ web: webUrl, ws });
        }
      });
      child.on("exit", (code) => {
        clearTimeout(deadline);
        fail(new Error(`circled exited (${code}): ${output}`));
      });
    });
    return new Circled(child, dataDir, urls.web, urls.ws);
  }

  // An account token minted with this server's secret.
  token(sub: string, name: string, options: { admin?: boolean } = {}): string {
    const args = ["token", "--sub", sub, "--name", name, `--data-dir=${this.dataDir}`];
    if (options.admin) args.push("--admin");
    return execFileSync(kCircled, args, { encoding: "utf8" }).trim();
  }

  // The link an organisation sends: the room and the token in the fragment.
  link(roomId: string, token: string, options: { open?: boolean } = {}): string {
    const params = new URLSearchParams({ room: roomId, token });
    if (options.open) params.set("open", "1");
    return `${this.webUrl}#${params.toString()}`;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((done) => this.process.once("exit", done));
      this.process.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
