// What is being written is kept in this browser until the server has it: a lost
// connection, a 500 or a closed tab does not lose it (it opens again at the next
// visit). One entry per compose window, so that one never overwrites another.
import type { ComposeState } from "./model";

const PREFIX = "facteur.compose.";

export interface Backup {
  state: ComposeState;
  /** The server has everything in `state`. */
  saved: boolean;
  /** When it was written (ms since the epoch). */
  at?: number;
}

function key(userId: string, localId: string): string {
  return `${PREFIX}${userId}.${localId}`;
}

export function writeBackup(userId: string, backup: Backup): void {
  try {
    window.localStorage.setItem(key(userId, backup.state.localId), JSON.stringify({ ...backup, at: Date.now() }));
  } catch {
    // Storage full or refused (private mode): the server copy is all there is.
  }
}

/** The latest backup the server never got (the saved ones are forgotten on the way). */
export function readBackup(userId: string): Backup | null {
  const unsaved: Backup[] = [];
  try {
    for (let index = window.localStorage.length - 1; index >= 0; index -= 1) {
      const name = window.localStorage.key(index);
      if (!name?.startsWith(`${PREFIX}${userId}.`)) continue;
      try {
        const backup = JSON.parse(window.localStorage.getItem(name) ?? "") as Backup;
        if (backup?.state?.fields && !backup.saved) unsaved.push(backup);
        else window.localStorage.removeItem(name);
      } catch {
        window.localStorage.removeItem(name);
      }
    }
  } catch {
    return null;
  }
  unsaved.sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
  return unsaved[0] ?? null;
}

export function clearBackup(userId: string, localId: string): void {
  try {
    window.localStorage.removeItem(key(userId, localId));
  } catch {
    // Nothing to do: see writeBackup.
  }
}
