// Time from navigation to an interactive inbox of 50 threads, in Chromium, on the real
// single-machine stack (frontend/e2e/stack.mjs: `facteur-local run`, the built webmail).
// Run through bench/webmail_load.py; see its docstring and docs/benchmarks.md.
//
// The inbox of user1 gets `--threads` new conversations through the stack's SMTP
// listener (each its own thread), on top of the demo's. Then, `--runs` times each:
//   cold: a new browser context (empty HTTP cache, the session cookie only) opens /;
//   warm: one context, assets cached, opens / again.
// Measured in the page, from navigation start (performance.now()):
//   rows: the list holds 50 thread rows (a MutationObserver);
//   interactive: the "j" shortcut, pressed from then on until it is handled, has moved
//   the focus to the first row (the app's handlers run and the main thread is free);
// and, cold, the main thread's CPU time until then (DevTools Performance metrics).
import { mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { launchChromium, logInAs } from "../frontend/e2e/browser.mjs";
import { sendSmtp } from "../frontend/e2e/smtp.mjs";
import { startStack } from "../frontend/e2e/stack.mjs";

const ROWS = 50; // the webmail's page size: the first screen of the inbox
const TARGET_MS = 1000;
const USER = "user1@example.local";

const { values: options } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    threads: { type: "string", default: "60" },
    smoke: { type: "boolean", default: false },
  },
});
const runs = options.smoke ? 3 : Number(options.runs);
const threads = Math.max(ROWS, Number(options.threads));

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const artifacts = join(root, "test-artifacts/bench");
mkdirSync(artifacts, { recursive: true });

// Installed before the app's own scripts, in every page the context opens.
function watchInbox(rows) {
  const marks = {};
  window.__benchMarks = marks;
  new MutationObserver(() => {
    if (!marks.rows && document.querySelectorAll(".thread-list .thread-link").length >= rows) {
      marks.rows = performance.now();
    }
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener(
    "focusin",
    (event) => {
      if (!marks.interactive && event.target instanceof Element && event.target.matches(".thread-link")) {
        marks.interactive = performance.now();
      }
    },
    true,
  );
}

async function measure(page, url) {
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(() => window.__benchMarks?.rows, null, { polling: "raf", timeout: 30_000 });
  // A key pressed before the app listens is lost, as a person's would be: press until
  // one is handled.
  const deadline = Date.now() + 30_000;
  while (!(await page.evaluate(() => window.__benchMarks.interactive))) {
    if (Date.now() > deadline) throw new Error("the inbox never answered j");
    await page.keyboard.press("j");
  }
  return page.evaluate(() => ({ ...window.__benchMarks }));
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name, samples) {
  const line = (key) => {
    const values = samples.map((sample) => sample[key]);
    return `${key} p50 ${percentile(values, 50).toFixed(0)} ms, p95 ${percentile(values, 95).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`;
  };
  console.log(`  ${name.padEnd(5)} ${line("rows")}; ${line("interactive")}`);
}

const stack = await startStack({ root, logFile: join(artifacts, "webmail-load-server.log") });
const browser = await launchChromium();
let failed = false;
try {
  const started = Date.now();
  for (let index = 0; index < threads; index += 1) {
    const subject = `Load test conversation ${index + 1}`;
    await sendSmtp({
      port: stack.smtpPort,
      from: `sender${index}@example.org`,
      to: USER,
      data: [
        `From: Sender ${index} <sender${index}@example.org>`,
        `To: ${USER}`,
        `Subject: ${subject}`,
        `Message-ID: <load-${index}-${started}@example.org>`,
        `Date: ${new Date().toUTCString()}`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        `Body of ${subject}: a few words to make a snippet.`,
        "",
      ].join("\r\n"),
    });
  }

  const login = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  await logInAs(await login.newPage(), stack, USER);
  // Ingest is asynchronous: wait until the first page of the inbox is full.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await login.request.get(`${stack.url}/api/v1.0/threads/?view=inbox&page_size=${ROWS}`);
    if ((await answer.json()).results.length >= ROWS) break;
    if (Date.now() > deadline) throw new Error(`the inbox did not reach ${ROWS} threads`);
    await new Promise((done) => setTimeout(done, 250));
  }
  const session = await login.storageState();
  await login.close();

  const cold = [];
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext({ storageState: session, viewport: { width: 1400, height: 860 } });
    await context.addInitScript(watchInbox, ROWS);
    const page = await context.newPage();
    // The main thread's CPU time (ThreadTime) and the time in script: what the page
    // itself costs; wall times also count the waits for a core on a busy machine.
    const devtools = await context.newCDPSession(page);
    await devtools.send("Performance.enable");
    const sample = await measure(page, `${stack.url}/`);
    const { metrics } = await devtools.send("Performance.getMetrics");
    const metric = (name) => 1000 * (metrics.find((entry) => entry.name === name)?.value ?? 0);
    cold.push({ ...sample, cpu: metric("ThreadTime"), script: metric("ScriptDuration") });
    await context.close();
  }
  const warmContext = await browser.newContext({ storageState: session, viewport: { width: 1400, height: 860 } });
  await warmContext.addInitScript(watchInbox, ROWS);
  const warmPage = await warmContext.newPage();
  await measure(warmPage, `${stack.url}/`); // fills the cache
  const warm = [];
  for (let run = 0; run < runs; run += 1) warm.push(await measure(warmPage, `${stack.url}/`));
  await warmContext.close();

  console.log(
    `webmail load: navigation to an interactive inbox of ${ROWS} threads (${threads} seeded + the demo's), ` +
      `${runs} runs each, Chromium ${browser.version()}, localhost, ` +
      `load average ${loadavg().map((load) => load.toFixed(1)).join(" ")} (${cpus().length} CPUs)`,
  );
  summary("cold", cold);
  summary("warm", warm);
  const median = (key) => percentile(cold.map((sample) => sample[key]), 50).toFixed(0);
  console.log(`  cold, until interactive: main thread CPU p50 ${median("cpu")} ms; in script p50 ${median("script")} ms`);
  const worst = percentile(
    cold.map((sample) => sample.interactive),
    95,
  );
  console.log(`  target: interactive p95 < ${TARGET_MS} ms (cold): ${worst < TARGET_MS ? "ok" : "MISS"}`);
} catch (error) {
  failed = true;
  console.error(`ERROR: ${error instanceof Error ? error.stack : error}`);
} finally {
  await browser.close();
  await stack.stop();
}
process.exit(failed ? 1 : 0);
