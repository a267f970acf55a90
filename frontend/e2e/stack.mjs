// Starts the real single-machine stack for the end-to-end test: `facteur-local run`
// with its own data folder and ports (embedded PostgreSQL and Redis, gunicorn, Celery,
// the SMTP listener). Outgoing mail is relayed to that same SMTP listener, so what
// user1 sends reaches user2's mailbox through the whole mail path.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const READY_TIMEOUT_MS = 120_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the stack; resolves with {url, smtpPort, credentials, stop()} once it is ready. */
export async function startStack({ root, logFile }) {
  const port = await freePort();
  const smtpPort = await freePort();
  const varDir = mkdtempSync(join(tmpdir(), "facteur-e2e-"));
  // Nothing from the caller's Facteur settings: this run has its own everything.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(FACTEUR_|DJANGO_|DATABASE_|REDIS_|CELERY_)/.test(key) && key !== "PROMETHEUS_MULTIPROC_DIR",
    ),
  );
  Object.assign(env, {
    FACTEUR_VAR_DIR: varDir,
    FACTEUR_RELAY_HOST: "127.0.0.1",
    FACTEUR_RELAY_PORT: String(smtpPort),
    FACTEUR_RELAY_STARTTLS: "false",
    // A short undo window: the test waits for it to pass.
    FACTEUR_SEND_UNDO_SECONDS: "3",
    PYTHONUNBUFFERED: "1",
  });
  const log = createWriteStream(logFile);
  const child = spawn(
    join(root, ".venv/bin/facteur-local"),
    ["run", "--port", String(port), "--smtp-port", String(smtpPort), "--web-workers", "2"],
    { env, cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk) => {
    output += chunk.toString();
    log.write(chunk);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    rmSync(varDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output.includes("Press Ctrl-C to stop.")) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`facteur-local exited while starting; see ${logFile}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`facteur-local not ready within ${READY_TIMEOUT_MS / 1000}s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const credentials = readCredentials(join(varDir, "demo-credentials.txt"));
  return { url: `http://127.0.0.1:${port}`, smtpPort, credentials, stop };
}

/** The demo accounts' passwords, by e-mail, from `facteur-local run`'s credentials file. */
export function readCredentials(path) {
  return Object.fromEntries(
    readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith("#"))
      .map((line) => line.split(/\s+/).slice(0, 2)),
  );
}
