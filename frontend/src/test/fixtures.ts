// Answers shaped exactly like backend/openapi.yaml: every fixture is typed with the
// models Orval generated from it, so a schema change that breaks them fails typecheck.
import type {
  AuthConfig,
  Label,
  Mailbox,
  MailboxAccess,
  Message,
  Thread,
  ThreadAccess,
  ThreadList,
  Upload,
  User,
} from "../api/generated/model";

export const MAILBOX_ID = "11111111-1111-4111-8111-111111111111";
export const SHARED_MAILBOX_ID = "22222222-2222-4222-8222-222222222222";
export const THREAD_ID = "33333333-3333-4333-8333-333333333333";
export const DRAFT_ID = "66666666-6666-4666-8666-666666666666";
export const BLOB_ID = "77777777-7777-4777-8777-777777777777";

export function user(overrides: Partial<User> = {}): User {
  return {
    id: "99999999-9999-4999-8999-999999999999",
    email: "user1@example.local",
    full_name: "User One",
    language: "en",
    is_staff: false,
    auth: "local",
    ...overrides,
  };
}

export function authConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return { local_accounts: true, oidc: false, oidc_login_url: null, ...overrides };
}

export function mailbox(overrides: Partial<Mailbox> = {}): Mailbox {
  return {
    id: MAILBOX_ID,
    address: "user1@example.local",
    domain: "example.local",
    local_part: "user1",
    kind: "personal",
    display_name: "User One",
    aliases: [],
    managed: true,
    is_disabled: false,
    role: "admin",
    unread_count: 2,
    total_count: 5,
    ...overrides,
  };
}

export const mailboxes = (): Mailbox[] => [
  mailbox(),
  mailbox({
    id: SHARED_MAILBOX_ID,
    address: "contact@example.local",
    local_part: "contact",
    kind: "shared",
    display_name: "Contact",
    role: "editor",
    unread_count: 7,
    total_count: 9,
  }),
];

export function label(overrides: Partial<Label> = {}): Label {
  return {
    id: "44444444-4444-4444-8444-444444444444",
    mailbox: MAILBOX_ID,
    name: "Clients",
    color: "#d97706",
    created_at: "2026-11-01T09:00:00Z",
    ...overrides,
  };
}

export function thread(overrides: Partial<Thread> = {}): Thread {
  return {
    id: THREAD_ID,
    mailbox: MAILBOX_ID,
    subject: "Quarterly report",
    snippet: "Here are the figures for the quarter",
    sender_names: ["Alice Martin", "Bob"],
    last_activity_at: "2026-11-20T10:30:00Z",
    message_count: 2,
    unread_count: 1,
    is_starred: false,
    has_attachments: true,
    has_draft: false,
    folders: ["inbox"],
    labels: [{ id: "44444444-4444-4444-8444-444444444444", name: "Clients", color: "#d97706" }],
    role: "editor",
    ...overrides,
  };
}

export function threadList(results: Thread[], nextCursor: string | null = null): ThreadList {
  return { results, next_cursor: nextCursor };
}

export function message(overrides: Partial<Message> = {}): Message {
  return {
    id: "55555555-5555-4555-8555-555555555555",
    thread: THREAD_ID,
    mailbox: MAILBOX_ID,
    mime_id: "<first@example.org>",
    in_reply_to: "",
    references: [],
    subject: "Quarterly report",
    sender: { name: "Alice Martin", email: "alice@example.org" },
    reply_to: "",
    recipients: [
      {
        kind: "to",
        name: "User One",
        email: "user1@example.local",
        delivery_status: "delivered",
        delivery_message: "",
        delivered_at: null,
        retry_count: 0,
        retry_at: null,
      },
    ],
    sent_at: "2026-11-20T09:00:00Z",
    received_at: "2026-11-20T09:00:05Z",
    snippet: "Here are the figures",
    text_body: "Here are the figures for the quarter.",
    html_body: "",
    has_remote_content: false,
    attachments: [],
    size: 2048,
    is_unread: false,
    is_draft: false,
    is_sender: false,
    is_starred: false,
    is_trashed: false,
    is_spam: false,
    is_archived: false,
    is_malformed: false,
    parse_errors: [],
    send_at: null,
    ...overrides,
  };
}

export interface DraftBody {
  subject?: string;
  html_body?: string;
  text_body?: string;
  to?: { name?: string; email: string }[];
  cc?: { name?: string; email: string }[];
  bcc?: { name?: string; email: string }[];
}

/** The draft the API answers with after POST or PATCH /drafts/. */
export function draftFrom(id: string, body: DraftBody): Message {
  const people = (kind: "to" | "cc" | "bcc") =>
    (body[kind] ?? []).map((person) => ({
      kind,
      name: person.name ?? "",
      email: person.email,
      delivery_status: "queued" as const,
      delivery_message: "",
      delivered_at: null,
      retry_count: 0,
      retry_at: null,
    }));
  return message({
    id,
    subject: body.subject ?? "",
    html_body: body.html_body ?? "",
    text_body: body.text_body ?? "",
    recipients: [...people("to"), ...people("cc"), ...people("bcc")],
    sender: { name: "User One", email: "user1@example.local" },
    is_draft: true,
    is_sender: true,
  });
}

export function upload(overrides: Partial<Upload> = {}): Upload {
  return {
    id: "88888888-8888-4888-8888-888888888888",
    blob: BLOB_ID,
    mailbox: MAILBOX_ID,
    filename: "notes.txt",
    content_type: "text/plain",
    size: 5,
    sha256: "0".repeat(64),
    ...overrides,
  };
}

export function mailboxAccess(overrides: Partial<MailboxAccess> = {}): MailboxAccess {
  return {
    id: "aaaaaaaa-0000-4000-8000-000000000001",
    mailbox: MAILBOX_ID,
    user: "99999999-9999-4999-8999-999999999999",
    user_email: "user1@example.local",
    user_name: "User One",
    role: "admin",
    created_at: "2026-11-01T09:00:00Z",
    ...overrides,
  };
}

export function threadAccess(overrides: Partial<ThreadAccess> = {}): ThreadAccess {
  return {
    id: "bbbbbbbb-0000-4000-8000-000000000001",
    mailbox: SHARED_MAILBOX_ID,
    mailbox_address: "contact@example.local",
    role: "viewer",
    created_at: "2026-11-02T09:00:00Z",
    ...overrides,
  };
}
