import { useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

/** What the query language offers, in a few lines (docs/search.md has it all). */
export const OPERATORS = [
  { example: "from:alice", what: "search.ops.from" },
  { example: "to:bob", what: "search.ops.to" },
  { example: "subject:budget", what: "search.ops.subject" },
  { example: "in:sent", what: "search.ops.in" },
  { example: "is:unread", what: "search.ops.is" },
  { example: "has:attachment", what: "search.ops.attachment" },
  { example: "label:clients", what: "search.ops.label" },
  { example: "after:2025-01-31 before:2025-03-01", what: "search.ops.dates" },
  { example: "newer_than:7d", what: "search.ops.newer" },
  { example: "larger:5M", what: "search.ops.larger" },
  { example: '"annual report"', what: "search.ops.phrase" },
  { example: "-newsletter", what: "search.ops.not" },
  { example: "invoice OR receipt", what: "search.ops.or" },
] as const;

/** A "?" next to the search box opening a short list of operators; Escape or the button closes it. */
export function OperatorHelp() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const toggle = useRef<HTMLButtonElement>(null);
  return (
    // Escape closes it from the panel or its button, and leaves the focus on the button.
    <div
      className="search-help"
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        className="search-help-toggle"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">?</span>
        <span className="visually-hidden">{t("search.helpButton")}</span>
      </button>
      {open && (
        <div
          id={panelId}
          className="search-help-panel"
          role="region"
          aria-label={t("search.helpTitle")}
        >
          <h2>{t("search.helpTitle")}</h2>
          <dl>
            {OPERATORS.map((operator) => (
              <div key={operator.example}>
                <dt>
                  <code>{operator.example}</code>
                </dt>
                <dd>{t(operator.what)}</dd>
              </div>
            ))}
          </dl>
          <p>{t("search.helpDefault")}</p>
        </div>
      )}
    </div>
  );
}
