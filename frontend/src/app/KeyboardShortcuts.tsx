// Keyboard shortcuts of the mail panes, and the sheet that lists them ("?").
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { useThreadsMessagesList } from "../api/generated/endpoints/threads/threads";
import { useCompose } from "../compose/ComposeProvider";
import { removesFromView, useThreadActions } from "../threads/actions";
import { useListOrder, type Selection } from "../threads/ThreadList";
import { useLeaveThread } from "../threads/useLeaveThread";
import { Modal } from "../ui/Modal";
import { SEARCH_INPUT_ID } from "../search/SearchBox";
import { listPath, threadPath } from "./paths";
import type { Place } from "./usePlace";

export const SHORTCUTS = [
  { keys: ["j", "k"], what: "shortcuts.nextPrevious" },
  { keys: ["o", "Enter"], what: "shortcuts.open" },
  { keys: ["u"], what: "shortcuts.backToList" },
  { keys: ["x"], what: "shortcuts.select" },
  { keys: ["r"], what: "shortcuts.reply" },
  { keys: ["a"], what: "shortcuts.replyAll" },
  { keys: ["f"], what: "shortcuts.forward" },
  { keys: ["c"], what: "shortcuts.compose" },
  { keys: ["e"], what: "shortcuts.archive" },
  { keys: ["#"], what: "shortcuts.trash" },
  { keys: ["!"], what: "shortcuts.spam" },
  { keys: ["s"], what: "shortcuts.star" },
  { keys: ["/"], what: "shortcuts.search" },
  { keys: ["?"], what: "shortcuts.help" },
] as const;

/** Typing in a field, the editor or the compose window is not a shortcut. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.closest(".compose, [role='dialog']")) return true;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

function rowLinks(): HTMLAnchorElement[] {
  return Array.from(document.querySelectorAll<HTMLAnchorElement>(".thread-list .thread-link"));
}

function focusedRowId(): string | undefined {
  const row = document.activeElement?.closest<HTMLElement>("[data-thread-id]");
  return row?.dataset.threadId;
}

export function KeyboardShortcuts({ place, selection }: { place: Place; selection: Selection }) {
  const navigate = useNavigate();
  const compose = useCompose();
  const order = useListOrder(place.list);
  const messages = useThreadsMessagesList(place.threadId ?? "", { query: { enabled: Boolean(place.threadId) } });
  const actions = useThreadActions();
  const leave = useLeaveThread(place);
  const [help, setHelp] = useState(false);

  // The handler reads the latest values through a ref: one listener for the page's life.
  const latest = useRef({ place, selection, order, messages: messages.data, compose, actions, leave, navigate });
  useEffect(() => {
    latest.current = { place, selection, order, messages: messages.data, compose, actions, leave, navigate };
  });

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (isTyping(event.target)) return;
      const { place, selection, order, messages, compose, actions, leave, navigate } = latest.current;
      const list = place.list;
      const key = event.key;
      const lastMessage = messages?.filter((message) => !message.is_draft).at(-1);
      const targets = (): string[] => {
        if (selection.ids.size > 0) return [...selection.ids];
        const id = place.threadId ?? focusedRowId();
        return id ? [id] : [];
      };
      const flag = (name: "archived" | "trashed" | "spam" | "starred", value?: boolean) => {
        const ids = targets();
        if (ids.length === 0 || !list) return;
        const rows = order.rows.filter((thread) => ids.includes(thread.id));
        const wanted =
          value ?? (name === "starred" ? !(rows.length > 0 && rows.every((thread) => thread.is_starred)) : true);
        const action = { kind: "flag" as const, flag: name, value: wanted, ids };
        actions.mutate(action, {
          onSuccess: () => {
            if (!removesFromView(action, list.folder)) return;
            if (place.threadId && ids.includes(place.threadId)) leave();
            selection.set(new Set());
          },
        });
      };
      let handled = true;
      switch (key) {
        case "j":
        case "k": {
          const step = key === "j" ? 1 : -1;
          if (place.threadId && list) {
            const next = order.neighbour(place.threadId, step);
            if (next) void navigate(threadPath(list, next.id));
          } else {
            const links = rowLinks();
            const index = links.findIndex((link) => link === document.activeElement);
            const next = index === -1 ? links[0] : links[index + step];
            next?.focus();
          }
          break;
        }
        // Enter on a row's link opens it natively; on its star or checkbox it does their job.
        case "o": {
          const id = focusedRowId();
          if (id && list) void navigate(threadPath(list, id));
          else handled = false;
          break;
        }
        case "u":
          if (list) void navigate(listPath(list));
          break;
        case "x": {
          const id = focusedRowId() ?? place.threadId;
          if (id) {
            const next = new Set(selection.ids);
            if (next.has(id)) next.delete(id);
            else next.add(id);
            selection.set(next);
          }
          break;
        }
        case "r":
        case "a":
          if (lastMessage) compose.reply(lastMessage, key === "a");
          break;
        case "f":
          if (lastMessage) compose.forward(lastMessage);
          break;
        case "c":
          compose.compose();
          break;
        case "e":
          flag("archived", list?.folder !== "archive");
          break;
        case "#":
          flag("trashed", true);
          break;
        case "!":
          flag("spam", true);
          break;
        case "s":
          flag("starred");
          break;
        case "/":
          document.getElementById(SEARCH_INPUT_ID)?.focus();
          break;
        case "?":
          setHelp(true);
          break;
        default:
          handled = false;
      }
      if (handled) event.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  return help ? <ShortcutHelp onClose={() => setHelp(false)} /> : null;
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal title={t("shortcuts.title")} className="shortcut-help" onClose={onClose} closeKeys={["?"]}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("shortcuts.key")}</th>
              <th scope="col">{t("shortcuts.action")}</th>
            </tr>
          </thead>
          <tbody>
            {SHORTCUTS.map((shortcut) => (
              <tr key={shortcut.what}>
                <td>
                  {shortcut.keys.map((key, index) => (
                    <span key={key}>
                      {index > 0 && " / "}
                      <kbd>{key}</kbd>
                    </span>
                  ))}
                </td>
                <td>{t(shortcut.what)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" data-autofocus onClick={onClose}>
          {t("shortcuts.close")}
        </button>
    </Modal>
  );
}
