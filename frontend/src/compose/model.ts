// What a message being written holds, and how a reply, a reply to all or a forward
// starts from the message it answers. Pure functions: the compose window and the tests
// share them.
import type { Attachment, Mailbox, Message } from "../api/generated/model";

export interface Person {
  name: string;
  email: string;
}

export interface DraftAttachment {
  blob: string;
  filename: string;
  size: number;
}

export type ComposeMode = "new" | "reply" | "replyAll" | "forward" | "draft";

export interface ComposeFields {
  mailboxId: string;
  subject: string;
  to: Person[];
  cc: Person[];
  bcc: Person[];
  html: string;
  text: string;
  attachments: DraftAttachment[];
}

export interface ComposeState {
  /** Names this compose in the local backup, before the server gives it an id. */
  localId: string;
  mode: ComposeMode;
  /** The server's draft, once created. */
  draftId: string | null;
  /** The message answered or forwarded (sent as in_reply_to when the draft is created). */
  inReplyTo: string | null;
  fields: ComposeFields;
}

/** Mailboxes one may send as. */
export function sendableMailboxes(mailboxes: Mailbox[]): Mailbox[] {
  return mailboxes.filter((mailbox) => mailbox.role === "sender" || mailbox.role === "admin");
}

export function newLocalId(): string {
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;

export function isEmail(value: string): boolean {
  return EMAIL.test(value.trim());
}

/** `Name <a@b.c>`, `a@b.c` or `"Name" <a@b.c>` -> a person, or null. */
export function parsePerson(value: string): Person | null {
  const trimmed = value.trim();
  const angle = /^(.*)<([^<>]+)>$/.exec(trimmed);
  if (angle) {
    const email = (angle[2] ?? "").trim();
    if (!isEmail(email)) return null;
    return { name: (angle[1] ?? "").trim().replace(/^"(.*)"$/, "$1"), email: email.toLowerCase() };
  }
  return isEmail(trimmed) ? { name: "", email: trimmed.toLowerCase() } : null;
}

export function blankFields(mailboxId: string): ComposeFields {
  return { mailboxId, subject: "", to: [], cc: [], bcc: [], html: "", text: "", attachments: [] };
}

export function blankCompose(mailboxId: string): ComposeState {
  return { localId: newLocalId(), mode: "new", draftId: null, inReplyTo: null, fields: blankFields(mailboxId) };
}

function ownAddresses(mailbox: Mailbox | undefined): Set<string> {
  const own = new Set<string>();
  if (mailbox) {
    own.add(mailbox.address.toLowerCase());
    for (const alias of mailbox.aliases) own.add(alias.toLowerCase());
  }
  return own;
}

function uniquePeople(people: Person[], exclude: Set<string>): Person[] {
  const seen = new Set(exclude);
  const result: Person[] = [];
  for (const person of people) {
    const email = person.email.toLowerCase();
    if (seen.has(email)) continue;
    seen.add(email);
    result.push({ name: person.name, email });
  }
  return result;
}

function recipientsOf(message: Message, kind: "to" | "cc" | "bcc"): Person[] {
  return message.recipients
    .filter((recipient) => recipient.kind === kind)
    .map((recipient) => ({ name: recipient.name, email: recipient.email }));
}

/** Who a reply goes to: the Reply-To, else the sender; our own sent mail goes back to its To. */
function replyTargets(message: Message): Person[] {
  if (message.is_sender) return recipientsOf(message, "to");
  const replyTo = message.reply_to ? parsePerson(message.reply_to) : null;
  return [replyTo ?? { name: message.sender.name ?? "", email: message.sender.email }];
}

function prefixed(prefix: string, subject: string): string {
  return subject.toLowerCase().startsWith(prefix.toLowerCase()) ? subject : `${prefix} ${subject}`.trim();
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A plain-text body as paragraphs of HTML (blank lines split paragraphs). */
export function textToHtml(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((block) => `<p>${escapeHtml(block).replace(/\n/g, "<br>")}</p>`)
    .join("");
}

function originalHtml(message: Message): string {
  return message.html_body || textToHtml(message.text_body);
}

export interface QuoteWords {
  /** "On {{date}}, {{sender}} wrote:" already filled in. */
  wrote: string;
  /** The forwarded-message header block, already translated. */
  forwardHeader: string;
}

export function replyCompose(
  message: Message,
  mailbox: Mailbox | undefined,
  all: boolean,
  words: QuoteWords,
): ComposeState {
  const own = ownAddresses(mailbox);
  let to = uniquePeople(replyTargets(message), own);
  let cc: Person[] = [];
  if (all) {
    const others = message.is_sender ? [] : recipientsOf(message, "to");
    to = uniquePeople([...to, ...others], own);
    cc = uniquePeople(recipientsOf(message, "cc"), new Set([...own, ...to.map((p) => p.email)]));
  }
  if (to.length === 0 && message.is_sender) to = uniquePeople(recipientsOf(message, "to"), new Set());
  const html = `<p></p><p>${escapeHtml(words.wrote)}</p><blockquote>${originalHtml(message)}</blockquote>`;
  return {
    localId: newLocalId(),
    mode: all ? "replyAll" : "reply",
    draftId: null,
    inReplyTo: message.id,
    fields: {
      ...blankFields(message.mailbox),
      subject: prefixed("Re:", message.subject),
      to,
      cc,
      html,
      text: "",
    },
  };
}

export function forwardCompose(message: Message, words: QuoteWords): ComposeState {
  const header = words.forwardHeader
    .split("\n")
    .map((line) => escapeHtml(line))
    .join("<br>");
  const html = `<p></p><p>${header}</p>${originalHtml(message)}`;
  return {
    localId: newLocalId(),
    mode: "forward",
    draftId: null,
    inReplyTo: message.id,
    fields: {
      ...blankFields(message.mailbox),
      subject: prefixed("Fwd:", message.subject),
      html,
      // The original's files go along (the API accepts blobs of the mailbox's own messages).
      attachments: message.attachments.filter((a) => !a.is_inline).map(toDraftAttachment),
    },
  };
}

export function toDraftAttachment(attachment: Attachment): DraftAttachment {
  return { blob: attachment.blob, filename: attachment.filename, size: attachment.size };
}

/** A draft the server holds, opened again. */
export function draftCompose(draft: Message): ComposeState {
  return {
    localId: newLocalId(),
    mode: "draft",
    draftId: draft.id,
    inReplyTo: null,
    fields: {
      mailboxId: draft.mailbox,
      subject: draft.subject,
      to: recipientsOf(draft, "to"),
      cc: recipientsOf(draft, "cc"),
      bcc: recipientsOf(draft, "bcc"),
      html: draft.html_body || textToHtml(draft.text_body),
      text: draft.text_body,
      attachments: draft.attachments.map(toDraftAttachment),
    },
  };
}

/** What PATCH /drafts/{id}/ (and POST /drafts/) receive for these fields. */
export function draftPayload(fields: ComposeFields) {
  return {
    subject: fields.subject,
    to: fields.to,
    cc: fields.cc,
    bcc: fields.bcc,
    html_body: fields.html,
    text_body: fields.text,
    attachments: fields.attachments.map((attachment) => attachment.blob),
  };
}

// ---- The text alternative ---------------------------------------------------------

/** ProseMirror's JSON, as TipTap's editor.getJSON() returns it. */
export interface DocNode {
  type?: string;
  text?: string;
  attrs?: Record<string, unknown>;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
  content?: DocNode[];
}

function inlineText(node: DocNode): string {
  if (node.type === "text") {
    const text = node.text ?? "";
    const link = node.marks?.find((mark) => mark.type === "link");
    const href = typeof link?.attrs?.href === "string" ? link.attrs.href : "";
    return href && href !== text ? `${text} <${href}>` : text;
  }
  if (node.type === "hardBreak") return "\n";
  return (node.content ?? []).map(inlineText).join("");
}

function blockLines(node: DocNode): string[] {
  const children = node.content ?? [];
  switch (node.type) {
    case "doc":
      return joinBlocks(children.map(blockLines));
    case "blockquote":
      return joinBlocks(children.map(blockLines)).map((line) => (line ? `> ${line}` : ">"));
    case "bulletList":
    case "orderedList":
      return children.flatMap((item, index) => {
        const marker = node.type === "bulletList" ? "- " : `${index + 1}. `;
        const lines = joinBlocks((item.content ?? []).map(blockLines));
        return lines.map((line, i) => (i === 0 ? marker : " ".repeat(marker.length)) + line);
      });
    case "horizontalRule":
      return ["----"];
    case "codeBlock":
      return inlineText(node).split("\n");
    default:
      return inlineText(node).split("\n");
  }
}

function joinBlocks(blocks: string[][]): string[] {
  const lines: string[] = [];
  blocks.forEach((block, index) => {
    if (index > 0) lines.push("");
    lines.push(...block);
  });
  return lines;
}

/** The plain-text alternative of the editor's document: quotes as "> ", lists as "- ". */
export function docToText(doc: DocNode): string {
  return blockLines(doc)
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
