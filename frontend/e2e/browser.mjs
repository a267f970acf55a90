// Debian's Chromium driven by playwright-core, as the e2e test and the load benchmark
// run it (CHROMIUM overrides the path; see ../../docs/webmail.md).
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Logs in through the login page as one of the demo accounts; waits for the inbox. */
export async function logInAs(page, stack, email) {
  await page.goto(`${stack.url}/login`);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(stack.credentials[email]);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Inbox", level: 1 }).waitFor();
}
