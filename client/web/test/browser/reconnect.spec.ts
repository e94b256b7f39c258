// Going offline and coming back: everything missed appears once, in order,
// and what was written offline is sent once.
import { expect, test } from "@playwright/test";
import { Circled } from "./circled";
import { conversation, join, messageTexts, say } from "./people";

let server: Circled;
test.beforeAll(async () => {
  server = await Circled.start();
});
test.afterAll(async () => {
  await server.stop();
});

test("a participant who goes offline misses nothing and sends once", async ({ browser }) => {
  const alex = await join(browser, server, "evening", "alex", "Alex", { open: true });
  const sam = await join(browser, server, "evening", "sam", "Sam");
  await say(alex.page, "before");
  await expect(conversation(sam.page).getByText("before")).toBeVisible();

  await sam.context.setOffline(true);
  await expect(sam.page.getByText("Reconnecting…").first()).toBeVisible();
  for (const text of ["one", "two", "three"]) await say(alex.page, text);
  await say(sam.page, "written offline");
  await expect(sam.page.locator("li.pending", { hasText: "written offline" })).toContainText(
    "sending…",
  );
  await expect(sam.page.getByText("1 message you wrote will be sent then.")).toBeVisible();

  await sam.context.setOffline(false);
  await expect(
    conversation(sam.page).locator("li.message", { hasText: "written offline" }),
  ).toHaveCount(1);
  await expect(sam.page.locator("li.pending")).toHaveCount(0);
  await expect(conversation(alex.page).getByText("written offline")).toHaveCount(1);
  await expect(sam.page.getByRole("status").filter({ hasText: "Connected" })).toBeVisible();
  const expected = ["before", "one", "two", "three", "written offline"];
  expect(await messageTexts(sam.page)).toEqual(expected);
  expect(await messageTexts(alex.page)).toEqual(expected);
});
