// A whole session in the browser: a facilitator and two participants, each
// in their own browser context, against the real circled over TLS.
import { expect, test } from "@playwright/test";
import { Circled } from "./circled";
import {
  composer,
  consoleErrors,
  conversation,
  expectNoAxeViolations,
  join,
  messageTexts,
  say,
  screenshotPath,
} from "./people";

let server: Circled;
test.beforeAll(async () => {
  server = await Circled.start();
});
test.afterAll(async () => {
  await server.stop();
});

test("a facilitator and two participants run a whole session", async ({ browser }) => {
  const room = "tuesday";
  const alex = await join(browser, server, room, "alex", "Alex", { open: true });
  const fac = alex.page;
  await expect(fac.getByRole("heading", { name: room, level: 1 })).toBeVisible();
  // The link's token is gone from the address bar at once.
  expect(fac.url()).not.toContain("token");

  // The agreement, and the waiting room on.
  await fac.getByLabel("Group agreement").fill("We keep what is said here private. Be kind.");
  await fac.getByRole("button", { name: "Save the agreement" }).click();
  await fac.getByLabel("New arrivals wait to be let in").check();
  await expect(fac.getByLabel("New arrivals wait to be let in")).toBeChecked();

  const sam = await join(browser, server, room, "sam", "Sam");
  await expect(
    sam.page.getByRole("heading", { name: "You are in the waiting room" }),
  ).toBeVisible();
  await expectNoAxeViolations(sam.page);
  await fac.getByRole("button", { name: "Let Sam in" }).click();
  await expect(sam.page.getByRole("heading", { name: "The group agreement" })).toBeVisible();
  await expect(composer(sam.page)).toBeDisabled();
  await expect(sam.page.getByText("Accept the group agreement above to take part.")).toBeVisible();
  await sam.page.getByRole("button", { name: "I accept the agreement" }).click();
  await expect(composer(sam.page)).toBeEnabled();

  const kim = await join(browser, server, room, "kim", "Kim");
  await fac.getByRole("button", { name: "Let Kim in" }).click();
  await kim.page.getByRole("button", { name: "I accept the agreement" }).click();

  await say(sam.page, "Hello everyone");
  for (const page of [fac, sam.page, kim.page]) {
    await expect(conversation(page).getByText("Hello everyone")).toBeVisible();
  }

  // A check-in round: Sam shares, Kim passes.
  await fac.getByRole("button", { name: "Start a round" }).click();
  await expect(sam.page.getByText("Check-in round: it is your turn.")).toBeVisible();
  await expect(kim.page.getByText("Check-in round: it is Sam's turn.")).toBeVisible();
  await expect(kim.page.getByText("A check-in round is running: it is Sam's turn.")).toBeVisible();
  await say(sam.page, "I am doing alright this week");
  await sam.page.getByRole("button", { name: "I have shared" }).click();
  await expect(kim.page.getByText("Check-in round: it is your turn.")).toBeVisible();
  await kim.page.getByRole("button", { name: "Pass" }).click();
  await expect(fac.getByText("Kim passed. The round is over.")).toBeVisible();
  await sam.page.screenshot({ path: screenshotPath("participant-desktop") });

  // A hand and the floor.
  await kim.page
    .getByLabel("Question for the facilitator (optional, private)")
    .fill("May I add something?");
  await kim.page.getByRole("button", { name: "Raise my hand" }).click();
  await expect(fac.getByText("Kim asks: May I add something?")).toBeVisible();
  await expect(fac.getByText("Hands up, in order: Kim")).toBeVisible();
  const kimRow = fac.locator(".person", { hasText: "Kim" });
  await kimRow.getByText("Options for Kim").click();
  await kimRow.getByRole("button", { name: "Give Kim the floor" }).click();
  await expect(kim.page.locator(".person", { hasText: "Kim (you)" })).toContainText(
    "has the floor",
  );

  // A mute the participant sees explained, then an unmute.
  const samRow = fac.locator(".person", { hasText: "Sam" });
  await samRow.getByText("Options for Sam").click();
  await samRow.getByLabel("Mute Sam for").selectOption("10");
  await samRow.getByRole("button", { name: "Mute", exact: true }).click();
  await expect(
    sam.page.getByText("A facilitator muted you. You can write again in 10 min."),
  ).toBeVisible();
  await expect(composer(sam.page)).toBeDisabled();
  await samRow.getByRole("button", { name: "Unmute Sam" }).click();
  await expect(composer(sam.page)).toBeEnabled();

  // A support request only the facilitator sees.
  await sam.page.getByRole("button", { name: "I need support" }).click();
  await sam.page.getByLabel(/What would help/).fill("Feeling overwhelmed tonight");
  await sam.page.getByRole("button", { name: "Ask privately for support" }).click();
  await expect(
    sam.page.getByText(
      "Your request for support went to the facilitator here, and to no one else.",
    ),
  ).toBeVisible();
  await expect(fac.getByText("Sam asked for support: “Feeling overwhelmed tonight”")).toBeVisible();
  await fac.getByRole("button", { name: "I am responding" }).click();
  await expect(
    sam.page.getByText("Alex has seen your request and will reach out to you."),
  ).toBeVisible();
  // The options opened above, closed again for the picture.
  await samRow.getByText("Options for Sam").click();
  await kimRow.getByText("Options for Kim").click();
  await fac.evaluate(() => window.scrollTo(0, 0));
  await fac.screenshot({ path: screenshotPath("facilitator-desktop") });
  await expectNoAxeViolations(fac);
  await expectNoAxeViolations(sam.page);
  await expect(kim.page.getByText("Feeling overwhelmed tonight")).toHaveCount(0);

  // A redaction gone for everyone.
  await say(kim.page, "Something that should not stay");
  await expect(conversation(fac).getByText("Something that should not stay")).toBeVisible();
  const message = conversation(fac).locator("li.message", {
    hasText: "Something that should not stay",
  });
  await message.getByText("Actions").click();
  await message.getByRole("button", { name: "Remove for everyone" }).click();
  for (const page of [fac, sam.page, kim.page]) {
    await expect(
      conversation(page).getByText("This message was removed by a facilitator."),
    ).toBeVisible();
    expect(await messageTexts(page)).not.toContain("Something that should not stay");
  }

  // The end of the session.
  await fac.getByRole("button", { name: "End the session" }).click();
  for (const page of [sam.page, kim.page]) {
    await expect(page.getByLabel("Session ended")).toContainText("The session has ended.");
  }
  for (const page of [fac, sam.page, kim.page]) expect(consoleErrors(page)).toEqual([]);
});
