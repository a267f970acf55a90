import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { buildFrameDocument, framePolicy } from "./htmlFrame";

const origin = "https://mail.example.org";
const parse = (html: string) => new DOMParser().parseFromString(html, "text/html");

describe("the message frame document", () => {
  it("starts with a policy that loads nothing from outside", () => {
    const doc = parse(buildFrameDocument("<p>hi</p>", { showRemoteImages: false, origin }));
    const first = doc.head.firstElementChild;
    expect(first?.getAttribute("http-equiv")).toBe("Content-Security-Policy");
    const policy = first?.getAttribute("content") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain(`img-src ${origin}/api/v1.0/blobs/ data:;`);
    expect(policy).not.toMatch(/script-src|https?:(;|\s|$)/);
    expect(doc.querySelector('meta[name="referrer"]')?.getAttribute("content")).toBe("no-referrer");
  });

  it("does not even ask for remote images until the reader wants them", () => {
    const html =
      '<img src="https://tracker.example/p.gif"><img src="/api/v1.0/users/me/"><img src="data:image/png;base64,AA==">' +
      '<img srcset="https://tracker.example/2x.gif 2x"><table background="https://tracker.example/bg.gif"></table>';
    const hidden = parse(buildFrameDocument(html, { showRemoteImages: false, origin }));
    expect([...hidden.querySelectorAll("img")].map((img) => img.getAttribute("src"))).toEqual([
      null,
      null,
      "data:image/png;base64,AA==",
      null,
    ]);
    expect(hidden.querySelectorAll("[srcset], [background]")).toHaveLength(0);
    const shown = parse(buildFrameDocument(html, { showRemoteImages: true, origin }));
    expect(shown.querySelector("img")?.getAttribute("src")).toBe("https://tracker.example/p.gif");
    // A relative URL would hit this site with the reader's cookies: never.
    expect(shown.querySelectorAll("img")[1]?.hasAttribute("src")).toBe(false);
    expect(shown.querySelector("[srcset]")).not.toBeNull();
  });

  it("lets remote images in only when asked", () => {
    expect(framePolicy({ showRemoteImages: true, origin })).toContain(
      `img-src ${origin}/api/v1.0/blobs/ data: https: http:`,
    );
  });

  it("drops what could act even if the sanitiser missed it", () => {
    const doc = parse(
      buildFrameDocument(
        '<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/">' +
          '<script>alert(1)</script><form action="https://evil.example"><input></form>' +
          '<iframe src="https://evil.example"></iframe><object data="x"></object><p>kept</p>',
        { showRemoteImages: false, origin },
      ),
    );
    expect(doc.querySelectorAll("script, form, iframe, object, base")).toHaveLength(0);
    expect(doc.querySelector('meta[http-equiv="refresh"]')).toBeNull();
    expect(doc.body.textContent).toContain("kept");
  });

  it("opens links in a new tab without a referrer or opener", () => {
    const doc = parse(buildFrameDocument('<a href="https://example.org">x</a>', { showRemoteImages: false, origin }));
    const link = doc.querySelector("a");
    expect(link?.getAttribute("target")).toBe("_blank");
    expect(link?.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("points cid: images at the message's inline attachments", () => {
    const attachment = {
      id: "1",
      blob: "f0000000-0000-4000-8000-000000000001",
      filename: "logo.png",
      content_type: "image/png",
      size: 10,
      content_id: "<logo@example.org>",
      is_inline: true,
      download_url: "/api/v1.0/blobs/f0000000-0000-4000-8000-000000000001/",
    };
    const doc = parse(
      buildFrameDocument('<img src="cid:logo@example.org"><img src="cid:missing@x">', {
        showRemoteImages: false,
        origin,
        attachments: fx.message({ attachments: [attachment] }).attachments,
      }),
    );
    const [logo, missing] = [...doc.querySelectorAll("img")];
    expect(logo?.getAttribute("src")).toBe("/api/v1.0/blobs/f0000000-0000-4000-8000-000000000001/?inline=1");
    expect(missing?.hasAttribute("src")).toBe(false);
  });
});
