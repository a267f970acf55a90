import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { docToText, draftCompose, forwardCompose, parsePerson, replyCompose } from "./model";

const words = { wrote: "On Monday, Alice wrote:", forwardHeader: "---- Forwarded ----\nFrom: Alice" };
const person = (kind: "to" | "cc", email: string, name = "") => ({
  kind,
  name,
  email,
  delivery_status: "delivered" as const,
  delivery_message: "",
  delivered_at: null,
  retry_count: 0,
  retry_at: null,
});
const received = fx.message({
  subject: "Budget",
  sender: { name: "Alice", email: "alice@example.org" },
  recipients: [
    person("to", "user1@example.local", "User One"),
    person("to", "bob@example.org", "Bob"),
    person("cc", "carol@example.org"),
    person("cc", "USER1@example.local"),
  ],
  html_body: "<p>Numbers <b>inside</b></p>",
  attachments: [
    { id: "a1", blob: "b1", filename: "q3.pdf", content_type: "application/pdf", size: 10, content_id: "", is_inline: false, download_url: "/x" },
    { id: "a2", blob: "b2", filename: "logo.png", content_type: "image/png", size: 3, content_id: "logo", is_inline: true, download_url: "/y" },
  ],
});
const mailbox = fx.mailbox();

describe("starting a reply, a reply to all, a forward", () => {
  it("replies to the sender only, with Re: once and the quote", () => {
    const reply = replyCompose(received, mailbox, false, words);
    expect(reply.mode).toBe("reply");
    expect(reply.inReplyTo).toBe(received.id);
    expect(reply.fields.to).toEqual([{ name: "Alice", email: "alice@example.org" }]);
    expect(reply.fields.cc).toEqual([]);
    expect(reply.fields.subject).toBe("Re: Budget");
    expect(reply.fields.html).toContain("<blockquote><p>Numbers <b>inside</b></p></blockquote>");
    expect(reply.fields.html).toContain("On Monday, Alice wrote:");
    expect(replyCompose({ ...received, subject: "RE: Budget" }, mailbox, false, words).fields.subject).toBe("RE: Budget");
  });

  it("replies to the Reply-To when there is one", () => {
    const reply = replyCompose({ ...received, reply_to: "List <list@example.org>" }, mailbox, false, words);
    expect(reply.fields.to).toEqual([{ name: "List", email: "list@example.org" }]);
  });

  it("replies to all without our own address and without duplicates", () => {
    const reply = replyCompose(received, mailbox, true, words);
    expect(reply.fields.to.map((p) => p.email)).toEqual(["alice@example.org", "bob@example.org"]);
    expect(reply.fields.cc.map((p) => p.email)).toEqual(["carol@example.org"]);
  });

  it("answers our own sent message to its recipients", () => {
    const sent = { ...received, is_sender: true, sender: { name: "User One", email: "user1@example.local" } };
    expect(replyCompose(sent, mailbox, false, words).fields.to.map((p) => p.email)).toEqual(["bob@example.org"]);
  });

  it("forwards with Fwd:, the header, the body and the files (not inline images)", () => {
    const forward = forwardCompose(received, words);
    expect(forward.fields.subject).toBe("Fwd: Budget");
    expect(forward.fields.to).toEqual([]);
    expect(forward.fields.html).toContain("---- Forwarded ----<br>From: Alice");
    expect(forward.fields.html).toContain("<p>Numbers <b>inside</b></p>");
    expect(forward.fields.attachments).toEqual([{ blob: "b1", filename: "q3.pdf", size: 10 }]);
  });

  it("quotes a text-only message as escaped paragraphs", () => {
    const reply = replyCompose({ ...received, html_body: "", text_body: "a <b>\n\nsecond" }, mailbox, false, words);
    expect(reply.fields.html).toContain("<blockquote><p>a &lt;b&gt;</p><p>second</p></blockquote>");
  });

  it("opens a saved draft with its fields", () => {
    const draft = fx.draftFrom(fx.DRAFT_ID, { subject: "Hi", to: [{ email: "x@example.org" }], html_body: "<p>yo</p>" });
    const state = draftCompose(draft);
    expect(state.draftId).toBe(fx.DRAFT_ID);
    expect(state.fields.to).toEqual([{ name: "", email: "x@example.org" }]);
    expect(state.fields.html).toBe("<p>yo</p>");
  });
});

describe("addresses", () => {
  it("reads the usual forms and refuses the rest", () => {
    expect(parsePerson("a@b.io")).toEqual({ name: "", email: "a@b.io" });
    expect(parsePerson(' "Ann B" <Ann@B.io> ')).toEqual({ name: "Ann B", email: "ann@b.io" });
    expect(parsePerson("nope")).toBeNull();
    expect(parsePerson("Ann <nope>")).toBeNull();
  });
});

describe("the text alternative", () => {
  it("keeps paragraphs, quotes, lists and link targets", () => {
    const doc = {
      type: "doc",
      content: [
        { type: "paragraph", content: [{ type: "text", text: "Hello" }, { type: "hardBreak" }, { type: "text", text: "there" }] },
        {
          type: "paragraph",
          content: [{ type: "text", text: "site", marks: [{ type: "link", attrs: { href: "https://example.org" } }] }],
        },
        {
          type: "bulletList",
          content: [
            { type: "listItem", content: [{ type: "paragraph", content: [{ type: "text", text: "one" }] }] },
            { type: "listItem", content: [{ type: "paragraph", content: [{ type: "text", text: "two" }] }] },
          ],
        },
        {
          type: "blockquote",
          content: [
            { type: "paragraph", content: [{ type: "text", text: "quoted" }] },
            { type: "paragraph", content: [{ type: "text", text: "more" }] },
          ],
        },
      ],
    };
    expect(docToText(doc)).toBe("Hello\nthere\n\nsite <https://example.org>\n\n- one\n- two\n\n> quoted\n>\n> more");
  });
});
