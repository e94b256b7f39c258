// Invite links: a facilitator makes one in the app; a guest who opens it
// picks a pseudonym and joins (into the waiting room when it is on); the
// same browser is the same person (a ban follows it); a used-up, withdrawn
// or broken link gets a clear page.
import { expect, test, type Page } from "@playwright/test";
import { Circled } from "./circled";
import { conversation, expectNoAxeViolations, join, openLink, say } from "./people";

let server: Circled;
test.beforeAll(async () => {
  server = await Circled.start();
});
test.afterAll(async () => {
  await server.stop();
});

async function makeInvite(page: Page, uses: string): Promise<string> {
  const before = await page.locator(".invite-url").count();
  await page.getByLabel("People who may join with it").selectOption(uses);
  await page.getByRole("button", { name: "Make an invite link" }).click();
  await expect(page.locator(".invite-url")).toHaveCount(before + 1);
  return page.locator(".invite-url").last().inputValue();
}

async function joinAsGuest(page: Page, name: string): Promise<void> {
  await page.getByLabel("Your name in this group").fill(name);
  await page.getByRole("button", { name: "Join", exact: true }).click();
}

test("guests join with an invite link, and a withdrawn or used-up one is refused", async ({
  browser,
}) => {
  const alex = await join(browser, server, "thursday", "alex", "Alex", { open: true });
  const fac = alex.page;
  await fac.getByLabel("New arrivals wait to be let in").check();
  const link = await makeInvite(fac, "1");
  expect(link).toMatch(/#invite=/);

  // A guest picks a pseudonym, waits, is let in.
  const river = await openLink(browser, link);
  await expect(river.page.getByRole("heading", { name: "Join your group" })).toBeVisible();
  await expect(river.page.getByText("You are joining thursday.")).toBeVisible();
  await expectNoAxeViolations(river.page);
  await joinAsGuest(river.page, "River");
  await expect(
    river.page.getByRole("heading", { name: "You are in the waiting room" }),
  ).toBeVisible();
  await fac.getByRole("button", { name: "Let River in" }).click();
  await say(river.page, "Hi, I am new here");
  await expect(conversation(fac).getByText("Hi, I am new here")).toBeVisible();
  // Used up: no longer among the open links.
  await expect(fac.locator(".invite-url")).toHaveCount(0);
  // The browser keeps the guest key and nothing else.
  const stored = await river.page.evaluate(() => Object.keys(localStorage));
  expect(stored).toEqual(["circle-guest-key"]);

  // The link is used up: someone else is refused, clearly.
  const other = await openLink(browser, link);
  await joinAsGuest(other.page, "Sky");
  await expect(
    other.page.getByRole("heading", { name: "This invite link does not work" }),
  ).toBeVisible();
  await expect(other.page.getByRole("alert")).toContainText("used as often as it may be");
  await expectNoAxeViolations(other.page);

  // The same browser is the same person: a ban follows it back.
  const riverRow = fac.locator(".person", { hasText: "River" });
  await riverRow.getByText("Options for River").click();
  await riverRow.getByRole("button", { name: "Ban River" }).click();
  await expect(river.page.getByRole("alert")).toContainText("You cannot join it again");
  await river.page.goto(link);
  await joinAsGuest(river.page, "River again");
  await expect(river.page.getByRole("alert")).toContainText("banned");

  // A withdrawn link keeps out whoever has not joined with it.
  const second = await makeInvite(fac, "0");
  await fac
    .getByRole("button", { name: /Withdraw link/ })
    .last()
    .click();
  await expect(fac.locator(".invite-url")).toHaveCount(0);
  const late = await openLink(browser, second);
  await joinAsGuest(late.page, "Late");
  await expect(
    late.page.getByRole("heading", { name: "This invite link does not work" }),
  ).toBeVisible();
  await expect(late.page.getByRole("alert")).toContainText("withdrawn");

  // A link that was tampered with.
  const broken = await openLink(browser, second.slice(0, -3) + "abc");
  await joinAsGuest(broken.page, "Broken");
  await expect(broken.page.getByRole("alert")).toContainText("not valid");
});
