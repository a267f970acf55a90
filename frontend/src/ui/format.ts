// Dates and names as people read them, in the interface's language.

export function formatListDate(iso: string, language: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === now.toDateString();
  if (sameDay) {
    return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit" }).format(date);
  }
  if (date.getFullYear() === now.getFullYear()) {
    return new Intl.DateTimeFormat(language, { day: "numeric", month: "short" }).format(date);
  }
  return new Intl.DateTimeFormat(language, { dateStyle: "short" }).format(date);
}

export function formatFullDate(iso: string | null | undefined, language: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** `sender_names` is free JSON in the schema: a list of names (or of {name, email}). */
export function participantNames(senderNames: unknown): string[] {
  if (!Array.isArray(senderNames)) return [];
  return senderNames
    .map((entry: unknown) => {
      if (typeof entry === "string") return entry;
      if (entry && typeof entry === "object") {
        const { name, email } = entry as { name?: unknown; email?: unknown };
        if (typeof name === "string" && name) return name;
        if (typeof email === "string") return email;
      }
      return "";
    })
    .filter((name) => name !== "");
}

export function personLabel(person: { name?: string; email: string }): string {
  return person.name ? `${person.name} <${person.email}>` : person.email;
}

export function formatSize(bytes: number, language: string): string {
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
