// Safety, privacy and access: Leave quickly (button and keyboard), nothing
// kept in the browser's storage, nothing asked of any other origin, a phone's
// width, and axe on every screen.
import { expect, test } from "@playwright/test";
import { Circled } from "./circled";
import { conversation, expectNoAxeViolations, join, openLink, say, screenshotPath } from "./people";

let server: Circled;
test.beforeAll(async () => {
  server = await Circled.start();
});
test.afterAll(async () => {
  await server.stop();
});

const phone = { width: 360, height: 740 };

test("Leave quickly closes the connection and leaves a neutral page, by key or button", async ({
  browser,
}) => {
  const alex = await join(browser, server, "quick", "alex", "Alex", { open: true });
  const sam = await join(browser, server, "quick", "sam", "Sam");
  await say(sam.page, "a private thought");
  await expect(conversation(alex.page).getByText("a private thought")).toBeVisible();

  await sam.page.keyboard.press("Escape");
  await sam.page.keyboard.press("Escape");
  await expect(sam.page.getByRole("heading", { name: "Weather" })).toBeVisible();
  await expect(sam.page).toHaveTitle("Weather");
  expect(new URL(sam.page.url()).pathname).toBe("/neutral.html");
  expect(await sam.page.locator("body").innerText()).not.toContain("a private thought");
  expect(await sam.page.locator("body").innerText()).not.toContain("Circle");
  await expect(alex.page.locator(".person", { hasText: "Sam" })).toHaveCount(0);
  await expectNoAxeViolations(sam.page);

  const kim = await join(browser, server, "quick", "kim", "Kim");
  await expect(kim.page.getByRole("heading", { name: "quick", level: 1 })).toBeVisible();
  await kim.page.getByRole("button", { name: "Leave quickly" }).click();
  await expect(kim.page.getByRole("heading", { name: "Weather" })).toBeVisible();
  await expect(alex.page.locator(".person", { hasText: "Kim" })).toHaveCount(0);
});

test("nothing is kept in the browser and nothing is asked of another origin", async ({
  browser,
}) => {
  const origin = new URL(server.webUrl).host;
  const alex = await join(browser, server, "private", "alex", "Alex", { open: true });
  const requests: string[] = [];
  const context = await browser.newContext();
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  page.on("websocket", (socket) => requests.push(socket.url()));
  await page.goto(server.link("private", server.token("sam", "Sam")));
  await page.getByRole("button", { name: "Join", exact: true }).click();
  const sam = { context, page };
  await say(sam.page, "words that stay on the server");
  await expect(conversation(alex.page).getByText("words that stay on the server")).toBeVisible();

  const stored = await sam.page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookies: document.cookie,
    databases: (await indexedDB.databases()).length,
  }));
  expect(stored).toEqual({ local: 0, session: 0, cookies: "", databases: 0 });
  expect(requests.length).toBeGreaterThan(0);
  for (const url of requests) expect(new URL(url).host).toBe(origin);
});

test("every screen works at a phone's width and with text at 200%, and passes axe", async ({
  browser,
}) => {
  const landing = await openLink(browser, server.webUrl, { viewport: phone });
  await expect(landing.page.getByRole("heading", { name: "Circle" })).toBeVisible();
  await expectNoAxeViolations(landing.page);

  const alex = await join(browser, server, "phone", "alex", "Alex", {
    open: true,
    viewport: phone,
  });
  await expect(alex.page.getByRole("heading", { name: "phone", level: 1 })).toBeVisible();
  const sam = await openLink(browser, server.link("phone", server.token("sam", "Sam")), {
    viewport: phone,
  });
  await expect(sam.page.getByRole("heading", { name: "Join your group" })).toBeVisible();
  await expectNoAxeViolations(sam.page);
  await sam.page.getByRole("button", { name: "Join", exact: true }).click();
  await say(alex.page, "Welcome, take your time.");
  await say(sam.page, "Thanks, glad to be here.");
  await expect(conversation(alex.page).getByText("Thanks, glad to be here.")).toBeVisible();
  for (const person of [alex, sam]) {
    const width = await person.page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(phone.width);
    await expectNoAxeViolations(person.page);
  }
  await sam.page.screenshot({ path: screenshotPath("participant-phone"), fullPage: true });
  await alex.page.screenshot({ path: screenshotPath("facilitator-phone"), fullPage: true });
  // Text at twice its size still fits a laptop's width: nothing to scroll sideways.
  await alex.page.setViewportSize({ width: 1280, height: 800 });
  await alex.page.evaluate(() => (document.documentElement.style.fontSize = "200%"));
  await expect(conversation(alex.page).getByText("Thanks, glad to be here.")).toBeVisible();
  const zoomed = await alex.page.evaluate(() => document.documentElement.scrollWidth);
  expect(zoomed).toBeLessThanOrEqual(1280);
});
