// A minimal SMTP client for the tests and benchmarks that talk to the stack's real SMTP
// listener (stack.mjs): the e2e's hostile message, the load benchmark's inbox.
import { Socket } from "node:net";

/** Sends one message over SMTP (no TLS, no login): enough for the stack's listener. */
export function sendSmtp({ host = "127.0.0.1", port, from, to, data }) {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const commands = [
      "EHLO e2e.test",
      `MAIL FROM:<${from}>`,
      `RCPT TO:<${to}>`,
      "DATA",
      // Dot-stuffing: a line starting with "." gets another one.
      data.replace(/\r\n\./g, "\r\n..") + "\r\n.",
      "QUIT",
    ];
    let buffer = "";
    socket.setTimeout(15_000, () => socket.destroy(new Error("SMTP timed out")));
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      // A reply is complete at a line "NNN text" (a dash after the code means more lines).
      for (;;) {
        const match = /^(\d{3}) .*\r\n/m.exec(buffer);
        if (!match) return;
        const reply = buffer.slice(0, match.index + match[0].length);
        buffer = buffer.slice(match.index + match[0].length);
        const code = Number(match[1]);
        if (code >= 400) {
          socket.destroy();
          reject(new Error(`SMTP refused: ${reply.trim()}`));
          return;
        }
        const next = commands.shift();
        if (next === undefined) {
          socket.end();
          resolve();
          return;
        }
        socket.write(next + "\r\n");
      }
    });
    socket.connect(port, host);
  });
}
