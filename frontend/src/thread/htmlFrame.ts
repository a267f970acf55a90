// The document a message's HTML is shown in. The backend has already sanitised the
// HTML (nh3); this is the second wall. The iframe is sandboxed without allow-scripts,
// so nothing in it runs, and the document carries its own Content-Security-Policy:
// nothing loads from outside (remote images only once the reader asks), no fonts,
// no forms, no frames. Its links open in a new tab without a referrer.
import type { Attachment } from "../api/generated/model";

export interface FrameOptions {
  /** Let remote images load (the reader pressed "show images"). */
  showRemoteImages: boolean;
  /** The message's attachments: `cid:` references point at the inline ones. */
  attachments?: readonly Attachment[];
  /** This site's origin: attachments are served from it. */
  origin: string;
}

export function framePolicy({ showRemoteImages, origin }: FrameOptions): string {
  const images = [`${origin}/api/v1.0/blobs/`, "data:"];
  if (showRemoteImages) images.push("https:", "http:");
  return [
    "default-src 'none'",
    `img-src ${images.join(" ")}`,
    "style-src 'unsafe-inline'",
    "font-src data:",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function inlineUrl(attachment: Attachment): string {
  return `${attachment.download_url}${attachment.download_url.includes("?") ? "&" : "?"}inline=1`;
}

/** The srcdoc of the message's iframe. DOMParser documents are inert: nothing loads. */
export function buildFrameDocument(html: string, options: FrameOptions): string {
  const doc = new DOMParser().parseFromString(html, "text/html");
  // Defence in depth: whatever would still act on load or navigation goes.
  doc.querySelectorAll("script, meta, base, link, iframe, frame, object, embed, form").forEach((el) =>
    el.remove(),
  );
  const byCid = new Map(
    (options.attachments ?? [])
      .filter((attachment) => attachment.content_id)
      .map((attachment) => [attachment.content_id.replace(/^<|>$/g, ""), attachment]),
  );
  doc.querySelectorAll("img[src]").forEach((img) => {
    const src = (img.getAttribute("src") ?? "").trim();
    const scheme = src.toLowerCase();
    if (scheme.startsWith("cid:")) {
      const attachment = byCid.get(decodeURIComponent(src.slice(4)));
      if (attachment) img.setAttribute("src", inlineUrl(attachment));
      else img.removeAttribute("src");
    } else if (scheme.startsWith("data:")) {
      // Embedded in the message: nothing to fetch.
    } else if (/^https?:\/\//.test(scheme)) {
      // The policy would block it; not even asking keeps the console quiet.
      if (!options.showRemoteImages) img.removeAttribute("src");
    } else {
      // Relative or odd URLs would point at this site.
      img.removeAttribute("src");
    }
  });
  if (!options.showRemoteImages) {
    doc.querySelectorAll("[srcset], [background]").forEach((el) => {
      el.removeAttribute("srcset");
      el.removeAttribute("background");
    });
  }
  doc.querySelectorAll("a[href]").forEach((link) => {
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  });

  const head = doc.head;
  const policy = doc.createElement("meta");
  policy.setAttribute("http-equiv", "Content-Security-Policy");
  policy.setAttribute("content", framePolicy(options));
  const referrer = doc.createElement("meta");
  referrer.setAttribute("name", "referrer");
  referrer.setAttribute("content", "no-referrer");
  const style = doc.createElement("style");
  style.textContent =
    "html,body{margin:0;padding:0;background:#fff;color:#111827;}" +
    "body{font:14px/1.5 system-ui,sans-serif;overflow-wrap:anywhere;}" +
    "img{max-width:100%;height:auto;}pre{white-space:pre-wrap;}";
  // The policy first: it must be in force before anything else is read.
  head.prepend(policy, referrer, style);
  return `<!doctype html>${doc.documentElement.outerHTML}`;
}
