// `circle chat` in a terminal and the web app in a browser, in one room: the
// same messages in the same order.
import { spawn } from "node:child_process";
import { join as joinPath } from "node:path";
import { expect, test } from "@playwright/test";
import { Circled, kCertDir, kCircle } from "./circled";
import { conversation, join, messageTexts, say } from "./people";

let server: Circled;
test.beforeAll(async () => {
  server = await Circled.start();
});
test.afterAll(async () => {
  await server.stop();
});

test("a terminal and a browser see the same conversation", async ({ browser }) => {
  const web = await join(browser, server, "mixed", "alex", "Alex", { open: true });
  await expect(web.page.getByRole("heading", { name: "mixed", level: 1 })).toBeVisible();

  const terminal = spawn(
    kCircle,
    ["chat", "--server", server.wsUrl, "--ca", joinPath(kCertDir, "ca.crt"), "--room", "mixed"],
    {
      env: { ...process.env, CIRCLE_TOKEN: server.token("sam", "Sam") },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let output = "";
  terminal.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const terminalSays = (text: string) => terminal.stdin.write(`${text}\n`);
  // Lines of messages, as the terminal prints them: "#seq Name: text".
  const terminalMessages = () =>
    [...output.matchAll(/#\d+ (?:Alex|Sam): (.*)$/gm)].map((match) => match[1]!.trim());

  try {
    await expect(web.page.locator(".person", { hasText: "Sam" })).toBeVisible();
    await say(web.page, "from the browser 1");
    await expect.poll(terminalMessages).toContain("from the browser 1");
    terminalSays("from the terminal 1");
    await say(web.page, "from the browser 2");
    terminalSays("from the terminal 2");
    await expect(conversation(web.page).getByText("from the terminal 2")).toBeVisible();
    await expect.poll(terminalMessages).toContain("from the browser 2");
    await expect.poll(terminalMessages).toContain("from the terminal 2");
    expect(terminalMessages()).toEqual(await messageTexts(web.page));
    expect(terminalMessages()).toHaveLength(4);
  } finally {
    terminal.stdin.end("/quit\n");
    terminal.kill();
  }
});
