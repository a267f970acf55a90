// The message being written is kept in this browser until the server has it: a lost
// connection, a 500 or a closed tab does not lose it (it opens again at the next visit).
import type { ComposeState } from "./model";

const PREFIX = "facteur.compose.";

export interface Backup {
  state: ComposeState;
  /** The server has everything in `state`. */
  saved: boolean;
}

function key(userId: string): string {
  return PREFIX + userId;
}

export function writeBackup(userId: string, backup: Backup): void {
  try {
    window.localStorage.setItem(key(userId), JSON.stringify(backup));
  } catch {
    // Storage full or refused (private mode): the server copy is all there is.
  }
}

export function readBackup(userId: string): Backup | null {
  try {
    const raw = window.localStorage.getItem(key(userId));
    if (!raw) return null;
    const backup = JSON.parse(raw) as Backup;
    return backup && typeof backup === "object" && backup.state?.fields ? backup : null;
  } catch {
    return null;
  }
}

export function clearBackup(userId: string): void {
  try {
    window.localStorage.removeItem(key(userId));
  } catch {
    // Nothing to do: see writeBackup.
  }
}
