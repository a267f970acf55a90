import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { listPath } from "../app/paths";
import { usePlace, type Place } from "../app/usePlace";
import { OperatorHelp } from "./OperatorHelp";

export const SEARCH_INPUT_ID = "search-input";

/** Where a submitted query leads: its results in the mailbox, or back to the list for a blank one. */
export function searchDestination(mailboxId: string, text: string, back: string): string {
  const query = text.trim();
  return query ? listPath({ mailboxId, search: query }) : back;
}

/** The list to go back to when leaving a search: the last one seen in this mailbox, else its inbox. */
export function backFromSearch(mailboxId: string, lastList: string | undefined): string {
  const mailboxPrefix = `/mailboxes/${encodeURIComponent(mailboxId)}/`;
  return lastList?.startsWith(mailboxPrefix) ? lastList : listPath({ mailboxId, folder: "inbox" });
}

/** The top bar's search: Enter runs the query in the open mailbox, × or Escape goes back to the folder. */
export function SearchBox() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const place = usePlace();
  const input = useRef<HTMLInputElement>(null);
  const lastList = useLastList(place);
  const [text, setText] = useState(place.search ?? "");
  // The box follows the URL (a shared link, Back, a thread opened from the results keeps it).
  const [shown, setShown] = useState(place.search);
  if (shown !== place.search) {
    setShown(place.search);
    setText(place.search ?? "");
  }
  const mailboxId = place.mailboxId;
  const back = mailboxId ? backFromSearch(mailboxId, lastList.current) : undefined;

  const leave = () => {
    setText("");
    if (place.search !== undefined && back) void navigate(back);
  };

  return (
    <form
      role="search"
      className="search-box"
      aria-label={t("search.label")}
      onSubmit={(event) => {
        event.preventDefault();
        if (!mailboxId || !back) return;
        const to = searchDestination(mailboxId, text, back);
        if (text.trim() || place.search !== undefined) void navigate(to);
      }}
    >
      <label htmlFor={SEARCH_INPUT_ID} className="visually-hidden">
        {t("search.label")}
      </label>
      <input
        ref={input}
        id={SEARCH_INPUT_ID}
        type="search"
        enterKeyHint="search"
        autoComplete="off"
        spellCheck={false}
        maxLength={1000}
        placeholder={t("search.placeholder")}
        disabled={!mailboxId}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape") {
            event.preventDefault();
            leave();
            event.currentTarget.blur();
          }
        }}
      />
      {(text || place.search !== undefined) && (
        <button
          type="button"
          className="search-clear"
          aria-label={t("search.clear")}
          onClick={() => {
            leave();
            input.current?.focus();
          }}
        >
          <span aria-hidden="true">×</span>
        </button>
      )}
      <OperatorHelp />
    </form>
  );
}

/** The last folder or label list shown, to come back to from a search. */
function useLastList(place: Place) {
  const last = useRef<string | undefined>(undefined);
  const current = place.list && place.search === undefined ? listPath(place.list) : undefined;
  useEffect(() => {
    if (current) last.current = current;
  }, [current]);
  return last;
}
