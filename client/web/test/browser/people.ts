// People in a browser: each in a context of their own (their own storage, as
// a different person on a different device), joined through a link.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { fileURLToPath } from "node:url";
import type { Circled } from "./circled";

export interface Person {
  context: BrowserContext;
  page: Page;
}

export async function openLink(
  browser: Browser,
  url: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Person> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  // window.confirm and window.prompt: a person answering yes (prompts empty).
  page.on("dialog", (dialog) => void dialog.accept(dialog.type() === "prompt" ? "" : undefined));
  // The app must never cause a console error (a CSP violation shows as one).
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  (page as Page & { consoleErrors: string[] }).consoleErrors = errors;
  await page.goto(url);
  return { context, page };
}

export function consoleErrors(page: Page): string[] {
  return (page as Page & { consoleErrors: string[] }).consoleErrors;
}

// Opens the organisation's link for `sub` and joins under `name`.
export async function join(
  browser: Browser,
  server: Circled,
  room: string,
  sub: string,
  name: string,
  options: { open?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<Person> {
  const person = await openLink(
    browser,
    server.link(room, server.token(sub, name), options),
    options,
  );
  await person.page.getByRole("button", { name: "Join", exact: true }).click();
  return person;
}

export function composer(page: Page) {
  return page.getByRole("textbox", { name: "Message", exact: true });
}

export async function say(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

export function conversation(page: Page) {
  return page.getByRole("list", { name: "Messages" });
}

// The words of every message shown, in order.
export async function messageTexts(page: Page): Promise<string[]> {
  return conversation(page).locator("li.message .text").allInnerTexts();
}

// Where the tests' screenshots go: test-results/, or, with
// CIRCLE_WRITE_SCREENSHOTS=1, docs/screenshots/ (the ones the README shows).
export function screenshotPath(name: string): string {
  const folder = process.env.CIRCLE_WRITE_SCREENSHOTS
    ? fileURLToPath(new URL("../../../../docs/screenshots/", import.meta.url))
    : fileURLToPath(new URL("../../test-results/screenshots/", import.meta.url));
  return `${folder}${name}.png`;
}

export async function expectNoAxeViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  expect(
    results.violations.map(
      (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`,
    ),
  ).toEqual([]);
}
