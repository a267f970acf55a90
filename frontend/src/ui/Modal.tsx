// A modal dialog: named by its title, the focus kept inside (Tab and Shift+Tab cycle),
// Escape or a click outside closes it, and the focus goes back to what opened it.
import { useEffect, useId, useRef, type ReactNode } from "react";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Modal({
  title,
  onClose,
  className = "",
  closeKeys = [],
  children,
}: {
  title: string;
  onClose: () => void;
  className?: string;
  /** Keys besides Escape that close the dialog (the shortcut sheet's "?"). */
  closeKeys?: string[];
  children: ReactNode;
}) {
  const titleId = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    // The first control, else the dialog itself, takes the focus.
    const first = box.current?.querySelector<HTMLElement>("[data-autofocus]") ?? box.current;
    first?.focus();
    return () => previous?.focus();
  }, []);
  useEffect(() => {
    // Escape closes, wherever the focus is (a button that became disabled drops it to
    // the page); caught before anything else on the page (the compose window) sees it.
    const onEscape = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      onClose();
    };
    document.addEventListener("keydown", onEscape, true);
    return () => document.removeEventListener("keydown", onEscape, true);
  }, [onClose]);

  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        ref={box}
        className={`modal ${className}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onClick={(event) => event.stopPropagation()}
        onKeyDown={(event) => {
          // Keys in the dialog are its own: never the page's shortcuts.
          event.stopPropagation();
          const inField = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
          if (closeKeys.includes(event.key) && !inField) {
            event.preventDefault();
            onClose();
          } else if (event.key === "Tab") {
            trapTab(event, box.current);
          }
        }}
      >
        <h2 id={titleId} className="modal-title">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}

function trapTab(event: React.KeyboardEvent, container: HTMLElement | null) {
  const items = [...(container?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
  if (items.length === 0) {
    event.preventDefault();
    return;
  }
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && (document.activeElement === first || document.activeElement === container)) {
    event.preventDefault();
    last?.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first?.focus();
  }
}
