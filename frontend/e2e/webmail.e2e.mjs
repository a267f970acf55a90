// End-to-end test of the webmail in Chromium against the real stack (see stack.mjs):
// user1 logs in, sees the seeded inbox, opens a thread, writes to user2 with an
// attachment, finds it with a search, manages labels, shares the mailbox contact@ and the thread, sees a refused
// send in the Outbox and retries it; user2 finds the message, replies, labels, stars,
// archives and trashes it; user3 sees the thread user1 shared.
// Screenshots go to test-artifacts/e2e/. Run: node frontend/e2e/webmail.e2e.mjs
// Last, a hostile HTML message goes in through the SMTP listener: nothing in it may run
// or reach another origin (hostile.mjs), until "Show images", which loads images only.
// (scripts/test runs it). E2E_URL, E2E_CREDENTIALS (and E2E_SMTP_PORT, default 2525)
// reuse a running stack instead.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { launchChromium, logInAs } from "./browser.mjs";
import { hostileMessage, startCanary } from "./hostile.mjs";
import { sendSmtp } from "./smtp.mjs";
import { startStack, readCredentials } from "./stack.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const artifacts = join(root, "test-artifacts/e2e");
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const TIMEOUT = 15_000;

const stack = process.env.E2E_URL
  ? {
      url: process.env.E2E_URL,
      smtpPort: Number(process.env.E2E_SMTP_PORT ?? 2525),
      credentials: readCredentials(process.env.E2E_CREDENTIALS),
      stop: async () => undefined,
    }
  : await startStack({ root, logFile: join(artifacts, "server.log") });

const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: "en-GB" });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();
const consoleErrors = [];
page.on("console", (message) => {
  if (message.type() === "error") consoleErrors.push(message.text());
});
page.on("pageerror", (error) => consoleErrors.push(String(error)));
// Every request the browser makes (the page, its frames, popups), and every dialog.
const requests = [];
context.on("request", (request) => requests.push(request.url()));
const dialogs = [];
page.on("dialog", (dialog) => {
  dialogs.push(dialog.message());
  void dialog.dismiss();
});
const canary = await startCanary();

let stepNumber = 0;
async function step(name, body) {
  stepNumber += 1;
  const started = Date.now();
  try {
    await body();
  } catch (error) {
    await page.screenshot({ path: join(artifacts, "failure.png"), fullPage: true }).catch(() => undefined);
    throw new Error(`step ${stepNumber} "${name}" failed: ${error instanceof Error ? error.stack : error}`);
  }
  console.log(`  ok ${stepNumber} ${name} (${Date.now() - started} ms)`);
}
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`) });

/** Reloads until `locator` shows up: mail takes a moment to go through SMTP. */
async function eventually(locator, { reload = true, timeout = 30_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      await locator.first().waitFor({ timeout: 2_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      if (reload) await page.reload();
    }
  }
}

const logIn = (email) => logInAs(page, stack, email);

async function logOut() {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
}

const list = () => page.getByRole("main", { name: "Conversations" });
const nav = () => page.getByRole("navigation", { name: "Mailboxes" });
const threadPane = () => page.getByRole("region", { name: "Conversation" });
const toolbar = () => threadPane().getByRole("toolbar", { name: "Conversation actions" });
const run = Date.now().toString(36);
const subject = `Plans for the open day ${run}`;
const labelName = `Open day ${run}`;
const projects = `Projects ${run}`;
const events = `Events ${run}`;
const outboxSubject = `Refused on its way ${run}`;
const attachmentPath = join(artifacts, "programme.txt");
writeFileSync(attachmentPath, "09:00 welcome\n10:00 workshops\n");

let failed = false;
try {
  await step("user1 logs in and sees the seeded inbox", async () => {
    await logIn("user1@example.local");
    const rows = list().getByRole("listitem");
    await rows.first().waitFor();
    assert.ok((await rows.count()) >= 3, "the demo inbox has several threads");
  });

  await step("user1 opens a thread: the three panes", async () => {
    await list().getByRole("link").first().click();
    await threadPane().getByRole("article").waitFor();
    await threadPane().locator(".message.open").first().waitFor();
    await shot("01-three-panes");
  });

  await step("user1 writes to user2 with an attachment, sends, undoes, sends again", async () => {
    await page.getByRole("button", { name: "Compose" }).click();
    const dialog = page.getByRole("dialog", { name: "New message" });
    const to = dialog.getByRole("combobox", { name: "To" });
    await to.fill("user2");
    await dialog.getByRole("option", { name: /user2@example\.local/ }).waitFor();
    await to.press("Enter");
    await dialog.getByRole("list", { name: "To" }).getByText("user2@example.local").waitFor();
    await dialog.getByRole("textbox", { name: "Subject" }).fill(subject);
    const body = dialog.getByRole("textbox", { name: "Message" });
    await body.click();
    await page.keyboard.type("Hello Louis,");
    await page.keyboard.press("Enter");
    await page.keyboard.type("here is the programme. ");
    await page.keyboard.press("Control+b");
    await page.keyboard.type("See you there!");
    await dialog.getByLabel("Attach files").setInputFiles(attachmentPath);
    const attachments = dialog.getByRole("list", { name: "Attachments" });
    await attachments.getByText("programme.txt").waitFor();
    await attachments.getByRole("progressbar").waitFor({ state: "detached" });
    await dialog.getByRole("status").getByText("Draft saved").waitFor();
    await shot("02-compose");
    await dialog.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText("Message sent.").waitFor();
    // Undo: the message is a draft again, in the compose window, with everything in it.
    await page.getByRole("button", { name: "Undo" }).click();
    const again = page.getByRole("dialog", { name: "New message" });
    assert.equal(await again.getByRole("textbox", { name: "Subject" }).inputValue(), subject);
    await again.getByRole("list", { name: "Attachments" }).getByText("programme.txt").waitFor();
    await again.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText("Message sent.").waitFor();
    await page.getByText("Message sent.").waitFor({ state: "detached", timeout: 10_000 });
  });

  await step("user1 sees it delivered in Sent", async () => {
    await page.getByRole("link", { name: "Sent" }).first().click();
    await list().getByRole("link", { name: new RegExp(subject) }).click();
    const delivery = threadPane().getByRole("region", { name: "Delivery" });
    await eventually(delivery.getByText("Delivered"));
    await shot("03-sent-delivered");
  });

  await step("user1 searches with operators, opens the result, then a query without hits", async () => {
    const box = page.getByRole("search").getByRole("searchbox", { name: "Search mail" });
    await page.keyboard.press("Escape"); // the focus out of any field, for the "/" shortcut
    await list().getByRole("heading").first().click();
    await page.keyboard.press("/");
    assert.ok(await box.evaluate((input) => input === document.activeElement), "/ focuses the search box");
    const query = `to:user2 subject:${run}`;
    await box.fill(query);
    await box.press("Enter");
    await list().getByRole("heading", { name: `Search: ${query}` }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get("q"), query);
    const row = list().getByRole("link", { name: new RegExp(subject) });
    await row.waitFor();
    assert.equal(await row.locator("mark").first().innerText(), run, "the matching word is marked");
    await list().getByRole("status").getByText("1 conversation found").waitFor();
    await shot("12-search");
    await row.click();
    await threadPane().getByRole("heading", { name: subject }).waitFor();
    assert.match(new URL(page.url()).pathname, /\/search\/threads\//);
    assert.equal(await box.inputValue(), query, "the query stays while reading a result");

    const nothing = `subject:${run} zzqxnothing`;
    await box.fill(nothing);
    await box.press("Enter");
    await list().getByText(`No conversation matches “${nothing}”`, { exact: false }).waitFor();
    await shot("13-search-empty");
    await box.press("Escape");
    await list().getByRole("heading", { name: "Sent" }).waitFor();
    assert.equal(await box.inputValue(), "");
  });

  await step("user1 manages labels: nested, renamed, recoloured, deleted", async () => {
    await page.getByRole("button", { name: "Manage labels" }).click();
    const dialog = page.getByRole("dialog", { name: "Labels of user1@example.local" });
    await dialog.getByRole("textbox", { name: "Name", exact: true }).fill(projects);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    const parentRow = dialog.getByRole("form", { name: projects, exact: true });
    await parentRow.waitFor();
    await dialog.getByRole("textbox", { name: "Name", exact: true }).fill("Open day");
    await dialog.getByRole("combobox", { name: "Inside" }).selectOption(projects);
    await dialog.getByLabel("Colour", { exact: true }).fill("#16a34a");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await dialog.getByRole("form", { name: `${projects}/Open day` }).waitFor();
    // Renaming the parent moves the child with it.
    await parentRow.getByRole("textbox", { name: /^Name of/ }).fill(events);
    await parentRow.getByRole("button", { name: "Save" }).click();
    const childRow = dialog.getByRole("form", { name: `${events}/Open day` });
    await childRow.waitFor();
    await childRow.getByRole("textbox", { name: /^Name of/ }).press("Escape");
    const tree = page.getByRole("list", { name: "Labels" });
    const parentLink = tree.getByRole("link", { name: events, exact: true });
    await parentLink.waitFor();
    const child = parentLink.locator("xpath=..").getByRole("link", { name: "Open day" });
    await child.waitFor();
    assert.equal(await child.locator(".swatch").evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(22, 163, 74)");
    await page.getByRole("button", { name: "Manage labels" }).click();
    await dialog.getByRole("button", { name: `Delete the label ${events}/Open day` }).click();
    await dialog.getByRole("group", { name: `Delete ${events}/Open day?` }).waitFor();
    await shot("08-labels");
    await dialog.getByRole("button", { name: "Delete the label", exact: true }).click();
    await dialog.getByRole("form", { name: `${events}/Open day` }).waitFor({ state: "detached" });
    await dialog.getByRole("button", { name: "Close" }).click();
    await child.waitFor({ state: "detached" });
  });

  await step("user1 gives user3 access to contact@ in its sharing dialog, then takes it back", async () => {
    await nav().getByRole("link", { name: /^Contact/ }).click();
    await page.getByRole("button", { name: "Sharing and access" }).click();
    const dialog = page.getByRole("dialog", { name: "Access to contact@example.local" });
    const people = dialog.getByRole("list", { name: "People with access" });
    await people.getByRole("listitem").filter({ hasText: "user2@example.local" }).waitFor();
    // An unknown address: the API's reason is shown (its 400 is the one console error expected).
    const errorsBefore = consoleErrors.length;
    await dialog.getByLabel("Their e-mail address").fill("nobody@example.local");
    await dialog.getByRole("button", { name: "Add" }).click();
    await dialog.getByRole("alert").getByText(/No user has this e-mail address/).waitFor();
    consoleErrors.push(...consoleErrors.splice(errorsBefore).filter((text) => !/status of 400/.test(text)));
    await dialog.getByLabel("Their e-mail address").fill("user3@example.local");
    await dialog.getByRole("combobox", { name: "Role", exact: true }).selectOption("viewer");
    await dialog.getByRole("button", { name: "Add" }).click();
    const user3 = people.getByRole("listitem").filter({ hasText: "user3@example.local" });
    await user3.waitFor();
    await user3.getByRole("combobox").selectOption("editor");
    await page.waitForFunction(
      () => [...document.querySelectorAll(".access-row select")].some((el) => el.value === "editor" && !el.disabled),
    );
    await shot("09-mailbox-sharing");
    await user3.getByRole("button", { name: /Remove the access of/ }).click();
    await user3.waitFor({ state: "detached" });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  await step("user1 shares the sent thread with user3's mailbox", async () => {
    await nav().getByRole("link", { name: /^Camille Martin/ }).click();
    await page.getByRole("link", { name: "Sent" }).first().click();
    await list().getByRole("link", { name: new RegExp(subject) }).click();
    await toolbar().getByRole("button", { name: "Share" }).click();
    const dialog = page.getByRole("dialog", { name: `Sharing of “${subject}”` });
    await dialog.getByText("No other mailbox sees this conversation.").waitFor();
    await dialog.getByLabel("Mailbox address").fill("user3@example.local");
    await dialog.getByRole("button", { name: "Share", exact: true }).click();
    await dialog.getByRole("list", { name: "Also shared with" }).getByText("user3@example.local").waitFor();
    await shot("10-thread-sharing");
    await dialog.getByRole("button", { name: "Close" }).click();
  });

  await step("Outbox: a scheduled send, cancelled, sent to a refused address, failed, retried", async () => {
    await page.getByRole("button", { name: "Compose" }).click();
    const compose = page.getByRole("dialog", { name: "New message" });
    await compose.getByRole("combobox", { name: "To" }).fill("nobody@example.local");
    await compose.getByRole("combobox", { name: "To" }).press("Enter");
    await compose.getByRole("list", { name: "To" }).getByText("nobody@example.local").waitFor();
    await compose.getByRole("textbox", { name: "Subject" }).fill(outboxSubject);
    await compose.getByRole("button", { name: "Send later" }).click();
    await compose.getByLabel("Send at").fill("2099-01-02T09:30");
    await compose.getByRole("button", { name: "Schedule send" }).click();
    await page.getByText(/Message scheduled for/).waitFor();
    await page.getByRole("link", { name: "Outbox" }).first().click();
    const outbox = page.getByRole("main", { name: "Outbox" });
    const item = outbox.getByRole("article", { name: outboxSubject });
    await item.getByText("Scheduled").waitFor();
    await item.getByRole("button", { name: "Cancel and edit" }).click();
    const again = page.getByRole("dialog", { name: "New message" });
    assert.equal(await again.getByRole("textbox", { name: "Subject" }).inputValue(), outboxSubject);
    await item.waitFor({ state: "detached" });
    await again.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText("Message sent.").waitFor();
    // After the undo window the worker hands it over; the listener refuses the address.
    await eventually(item.getByText("Failed"));
    await item.getByText(/Server reply:/).waitFor();
    await shot("11-outbox");
    await item.getByRole("button", { name: "Retry now" }).click();
    await eventually(item.getByText("Failed"));
    assert.equal(await outbox.getByRole("alert").count(), 0, "the retry was accepted");
  });

  await step("user2 logs in and finds the message with its attachment", async () => {
    await logOut();
    await logIn("user2@example.local");
    const row = list().getByRole("link", { name: new RegExp(subject) });
    await eventually(row);
    await row.click();
    await threadPane().getByRole("heading", { name: subject }).waitFor();
    await threadPane().getByRole("link", { name: "programme.txt" }).waitFor();
    const frame = threadPane().locator("iframe.html-body").first();
    const text = await frame.contentFrame().locator("body").innerText();
    assert.match(text, /See you there!/);
    // The editor's bold went out as HTML.
    await frame.contentFrame().locator("strong", { hasText: "See you there!" }).waitFor();
  });

  await step("user2 replies (keyboard: r)", async () => {
    await threadPane().getByRole("heading", { name: subject }).focus();
    await page.keyboard.press("r");
    const dialog = page.getByRole("dialog", { name: "Reply" });
    await dialog.getByRole("list", { name: "To" }).getByText("user1@example.local").waitFor();
    // A reply starts in the body, above the quote.
    await page.waitForFunction(() => document.activeElement?.classList.contains("editor-body"));
    await page.keyboard.type("Thanks, I will be there.");
    await dialog.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText("Message sent.").waitFor();
    await dialog.waitFor({ state: "detached" });
    await threadPane().frameLocator("iframe.html-body").last().getByText("Thanks, I will be there.").waitFor();
  });

  await step("user2 labels and stars the thread", async () => {
    await toolbar().getByRole("button", { name: "Labels" }).click();
    await toolbar().getByRole("textbox", { name: "New label" }).fill(labelName);
    await toolbar().getByRole("button", { name: "Create and apply" }).click();
    await threadPane().locator(".chips").getByText(labelName).waitFor();
    await toolbar().getByRole("button", { name: "Done" }).click();
    await toolbar().getByRole("button", { name: "Star" }).click();
    await toolbar().getByRole("button", { name: "Unstar" }).waitFor();
    const row = list().getByRole("listitem").filter({ hasText: subject });
    await row.getByRole("button", { name: /Star/, pressed: true }).waitFor();
    await row.locator(".label-chip").getByText(labelName, { exact: true }).waitFor();
    await shot("04-labelled-starred");
  });

  await step("user2 archives it (it leaves the inbox) and finds it in Archive", async () => {
    await toolbar().getByRole("button", { name: "Archive" }).click();
    await list().getByRole("link", { name: new RegExp(subject) }).waitFor({ state: "detached" });
    await page.getByRole("link", { name: "Archive" }).first().click();
    await list().getByRole("link", { name: new RegExp(subject) }).click();
    await threadPane().getByRole("heading", { name: subject }).waitFor();
  });

  await step("user2 trashes it and finds it in Trash", async () => {
    await toolbar().getByRole("button", { name: "Trash" }).click();
    await list().getByRole("link", { name: new RegExp(subject) }).waitFor({ state: "detached" });
    await page.getByRole("link", { name: "Trash" }).first().click();
    await list().getByRole("link", { name: new RegExp(subject) }).waitFor();
    await shot("05-trash");
  });

  await step("keyboard: ? shows the shortcuts", async () => {
    // Somewhere that is no control: the list's heading (the focus goes to the list pane).
    await list().getByRole("heading").first().click();
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await shot("06-shortcuts");
    await page.keyboard.press("Escape");
  });

  const hostileSubject = `Hostile <b>mail</b> ${run}`;
  const appOrigin = new URL(stack.url).origin;
  const leaving = (allowed) =>
    requests.filter((url) => {
      if (/^(data|blob|about):/.test(url)) return false;
      return new URL(url).origin !== appOrigin && !allowed(url);
    });
  /** Nothing ran: no mark on the page or in the frame, no title, no dialog. */
  async function assertNothingRan(frame) {
    assert.equal(await page.evaluate(() => window.__facteurPwned), undefined, "no script ran in the page");
    assert.equal(await frame.evaluate(() => window.__facteurPwned), undefined, "no script ran in the frame");
    assert.notEqual(await page.title(), "pwned");
    assert.deepEqual(dialogs, [], "no alert, confirm or prompt");
    assert.deepEqual(
      canary.requests.filter((line) => !line.startsWith("GET /img/")),
      [],
      "the canary got nothing but images",
    );
  }
  let hostileFrame;

  await step("hostile HTML arrives through the SMTP listener", async () => {
    await sendSmtp({
      port: stack.smtpPort,
      from: "attacker@evil.test",
      to: "user2@example.local",
      data: hostileMessage({
        from: "attacker@evil.test",
        to: "user2@example.local",
        subject: hostileSubject,
        canary: canary.origin,
      }),
    });
    requests.length = 0;
    await page.getByRole("link", { name: "Inbox" }).first().click();
    const row = list().getByRole("link", { name: hostileSubject });
    await eventually(row);
    await row.click();
    // The subject is text, never markup.
    await threadPane().getByRole("heading", { name: hostileSubject }).waitFor();
    const frame = threadPane().locator("iframe.html-body").first();
    // The Frame itself (not a FrameLocator): the test evaluates in it.
    hostileFrame = await (await frame.elementHandle()).contentFrame();
    await hostileFrame.getByText("Plain words survive").waitFor();
    await threadPane().getByRole("button", { name: "Show images" }).waitFor();
  });

  await step("hostile HTML: nothing runs, nothing leaves for another origin", async () => {
    // What would act when touched: hover, click, the links, the form's button.
    await hostileFrame.getByText("hover or click me").hover();
    await hostileFrame.getByText("hover or click me").click();
    await hostileFrame.getByText("javascript: link", { exact: true }).click();
    await hostileFrame.getByText("data: link", { exact: true }).click();
    // Time for a meta refresh, a late load or a popup to happen, were any possible.
    await page.waitForTimeout(1_500);
    assert.equal(context.pages().length, 1, "no window opened");
    await assertNothingRan(hostileFrame);
    assert.deepEqual(canary.requests, [], "the canary got no request before Show images");
    assert.deepEqual(leaving(() => false), [], "no request left for another origin");
    const left = await hostileFrame.evaluate(() => {
      const found = [];
      const dangerous = "script, iframe, frame, object, embed, form, input, button, base, link, svg, math, video, audio, meta[http-equiv=refresh]";
      document.querySelectorAll(dangerous).forEach((el) => found.push(el.tagName));
      document.querySelectorAll("*").forEach((el) => {
        for (const attribute of el.attributes) {
          if (/^on/i.test(attribute.name)) found.push(`${el.tagName}[${attribute.name}]`);
          if (/^\s*(javascript|vbscript|data):/i.test(attribute.value) && attribute.name !== "src")
            found.push(`${el.tagName}[${attribute.name}=${attribute.value.slice(0, 20)}]`);
        }
      });
      return found;
    });
    assert.deepEqual(left, [], "nothing active is left in the frame");
    await shot("07-hostile");
  });

  await step("hostile HTML: Show images loads the images and nothing else", async () => {
    await threadPane().getByRole("button", { name: "Show images" }).click();
    await hostileFrame.locator("img[alt='tracking pixel']").waitFor();
    const deadline = Date.now() + 10_000;
    while (!canary.requests.includes("GET /img/pixel.gif")) {
      assert.ok(Date.now() < deadline, `the remote image was not fetched: ${canary.requests}`);
      await page.waitForTimeout(100);
    }
    await page.waitForTimeout(1_000);
    await assertNothingRan(hostileFrame);
    const canaryPaths = (url) => url.startsWith(`${canary.origin}/img/`);
    assert.deepEqual(leaving(canaryPaths), [], "only the canary's images were requested");
  });

  await step("hostile HTML: the SVG attachment is never served as a page", async () => {
    const href = await threadPane().getByRole("link", { name: "evil.svg" }).getAttribute("href");
    const response = await context.request.get(new URL(`${href}${href.includes("?") ? "&" : "?"}inline=1`, stack.url).href);
    assert.equal(response.status(), 200);
    const headers = response.headers();
    assert.match(headers["content-disposition"], /^attachment;/);
    assert.equal(headers["content-type"], "application/octet-stream");
    assert.match(headers["content-security-policy"], /sandbox/);
    assert.equal(headers["x-content-type-options"], "nosniff");
  });

  await step("hostile HTML: a search shows its marked-up subject as text", async () => {
    const box = page.getByRole("search").getByRole("searchbox", { name: "Search mail" });
    await box.fill(`subject:hostile ${run}`);
    await box.press("Enter");
    await list().getByRole("heading", { name: `Search: subject:hostile ${run}` }).waitFor();
    const row = list().getByRole("link", { name: new RegExp(`Hostile <b>mail</b> ${run}`) });
    // The inbox shows the same row until the results replace it: wait for the results'.
    await row.locator(".subject mark").first().waitFor();
    assert.equal(await row.locator("b, img, script").count(), 0, "the subject's markup stays text");
    assert.deepEqual(await row.locator(".subject mark").allInnerTexts(), ["Hostile", run]);
    await box.press("Escape");
    await list().getByRole("heading", { name: "Inbox" }).waitFor();
  });

  await step("user3 sees the thread user1 shared, read-only", async () => {
    await logOut();
    await logIn("user3@example.local");
    await page.getByRole("link", { name: "All mail" }).first().click();
    const row = list().getByRole("link", { name: new RegExp(subject) });
    await eventually(row);
    await row.click();
    await threadPane().getByRole("heading", { name: subject }).waitFor();
    assert.ok(await toolbar().getByRole("button", { name: "Archive" }).isDisabled(), "a viewer cannot archive");
    await toolbar().getByRole("button", { name: "Share" }).click();
    const dialog = page.getByRole("dialog", { name: `Sharing of “${subject}”` });
    await dialog.getByText("This conversation was shared with one of your mailboxes.").waitFor();
    await dialog.getByRole("list", { name: "Also shared with" }).getByText("user3@example.local").waitFor();
    await shot("12-shared-thread-user3");
    await page.keyboard.press("Escape");
  });

  const unexpected = consoleErrors.filter((text) => !/status of 401/.test(text));
  assert.deepEqual(unexpected, [], "no errors in the browser console");
  if (process.env.E2E_DOCS_SCREENSHOTS) {
    copyFileSync(join(artifacts, "01-three-panes.png"), join(root, "docs/webmail-three-panes.png"));
    copyFileSync(join(artifacts, "02-compose.png"), join(root, "docs/webmail-compose.png"));
  }
  console.log(`e2e: ${stepNumber} steps passed; screenshots in ${artifacts}`);
} catch (error) {
  failed = true;
  console.error(String(error instanceof Error ? error.message : error));
  if (consoleErrors.length) console.error("browser console errors:\n" + consoleErrors.join("\n"));
} finally {
  await browser.close();
  await canary.stop();
  await stack.stop();
}
process.exit(failed ? 1 : 0);
