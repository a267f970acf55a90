// To, Cc or Bcc: people as removable chips, and an input that suggests contacts
// (GET /contacts/?q=) as an ARIA combobox. Enter, Tab, comma or leaving the field turns
// a typed address into a chip.
import { useEffect, useId, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { useContactsList } from "../api/generated/endpoints/contacts/contacts";
import { personLabel } from "../ui/format";
import { parsePerson, type Person } from "./model";

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function RecipientField({
  label,
  people,
  mailboxId,
  onChange,
  autoFocus,
}: {
  label: string;
  people: Person[];
  mailboxId: string;
  onChange: (people: Person[]) => void;
  autoFocus?: boolean;
}) {
  const { t } = useTranslation();
  const inputId = useId();
  const listId = useId();
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const [invalid, setInvalid] = useState(false);
  const query = useDebounced(text.trim(), 200);
  const contacts = useContactsList(
    { q: query, mailbox: mailboxId },
    { query: { enabled: query.length > 0, staleTime: 30_000 } },
  );
  const taken = new Set(people.map((person) => person.email));
  const suggestions = text.trim()
    ? (contacts.data ?? []).filter((contact) => !taken.has(contact.email)).slice(0, 8)
    : [];
  const open = suggestions.length > 0;

  const add = (person: Person) => {
    if (!taken.has(person.email)) onChange([...people, person]);
    setText("");
    setActive(0);
    setInvalid(false);
  };
  const commitText = (): boolean => {
    if (!text.trim()) return false;
    const parts = text.split(/[,;]/).map((part) => part.trim()).filter(Boolean);
    const parsed = parts.map(parsePerson);
    if (parsed.some((person) => person === null)) {
      setInvalid(true);
      return false;
    }
    const fresh = (parsed as Person[]).filter((person) => !taken.has(person.email));
    onChange([...people, ...fresh]);
    setText("");
    setInvalid(false);
    return true;
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      setActive((active + 1) % suggestions.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      setActive((active - 1 + suggestions.length) % suggestions.length);
    } else if (event.key === "Enter" || event.key === "," || event.key === ";") {
      const chosen = open ? suggestions[active] : undefined;
      if (chosen && event.key === "Enter") {
        event.preventDefault();
        add({ name: chosen.name, email: chosen.email });
      } else if (text.trim()) {
        event.preventDefault();
        commitText();
      }
    } else if (event.key === "Tab" && text.trim()) {
      commitText();
    } else if (event.key === "Backspace" && !text && people.length > 0) {
      onChange(people.slice(0, -1));
    } else if (event.key === "Escape" && open) {
      event.stopPropagation();
      setText("");
    }
  };

  return (
    <div className="recipient-field">
      <label htmlFor={inputId}>{label}</label>
      <ul className="recipient-chips" aria-label={label}>
        {people.map((person) => (
          <li key={person.email} className="chip recipient-chip">
            <span>{personLabel(person)}</span>
            <button
              type="button"
              aria-label={t("compose.removeRecipient", { person: personLabel(person) })}
              onClick={() => onChange(people.filter((other) => other.email !== person.email))}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <div className="combobox">
        <input
          id={inputId}
          type="text"
          role="combobox"
          autoComplete="off"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          aria-invalid={invalid || undefined}
          autoFocus={autoFocus}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setActive(0);
            setInvalid(false);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => {
            // A click on a suggestion lands before the blur (onMouseDown below).
            commitText();
          }}
        />
        <ul id={listId} role="listbox" aria-label={t("compose.suggestions")} hidden={!open} className="suggestions">
          {suggestions.map((contact, index) => (
            <li
              key={contact.id}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              onMouseDown={(event) => {
                event.preventDefault();
                add({ name: contact.name, email: contact.email });
              }}
            >
              {personLabel(contact)}
            </li>
          ))}
        </ul>
      </div>
      {invalid && (
        <p className="field-error" role="alert">
          {t("compose.invalidAddress", { value: text.trim() })}
        </p>
      )}
    </div>
  );
}
