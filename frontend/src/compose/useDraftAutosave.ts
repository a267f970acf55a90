// Drafts save themselves: a change waits `delay` ms of quiet, then goes to the server
// (POST /drafts/ the first time, PATCH after). One request at a time; a failure keeps
// the local backup and tries again, waiting longer each time.
import { useCallback, useEffect, useRef, useState } from "react";

import { draftsCreate, draftsUpdate } from "../api/generated/endpoints/drafts/drafts";
import { writeBackup } from "./backup";
import { draftPayload, type ComposeState } from "./model";

export type SaveStatus = "idle" | "saving" | "saved" | "failed";

export const SAVE_DELAY_MS = 1500;
const RETRY_MS = [3000, 10000, 30000];

export interface DraftAutosave {
  status: SaveStatus;
  error: unknown;
  /** Call after every change. */
  changed: (state: ComposeState) => void;
  /** Saves now; resolves with the draft id once the server has the latest change. */
  flush: () => Promise<string>;
  /** No more saving (the draft is being discarded), or saving again (it was not). */
  pause: (paused: boolean) => void;
}

export function useDraftAutosave(
  userId: string,
  initial: ComposeState,
  onDraftId: (draftId: string) => void,
  delay = SAVE_DELAY_MS,
): DraftAutosave {
  const [status, setStatus] = useState<SaveStatus>(initial.draftId ? "saved" : "idle");
  const [error, setError] = useState<unknown>(null);
  const latest = useRef(initial);
  const version = useRef(0);
  const savedVersion = useRef(0);
  const inFlight = useRef<Promise<void> | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const failures = useRef(0);
  const unmounted = useRef(false);
  const paused = useRef(false);
  const onDraftIdRef = useRef(onDraftId);
  useEffect(() => {
    onDraftIdRef.current = onDraftId;
  }, [onDraftId]);

  const clearTimer = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  };

  const saveOnce = useCallback(async (): Promise<void> => {
    const target = version.current;
    const state = latest.current;
    setStatus("saving");
    const payload = draftPayload(state.fields);
    const saved = state.draftId
      ? await draftsUpdate(state.draftId, payload)
      : await draftsCreate({
          mailbox: state.fields.mailboxId,
          ...(state.inReplyTo ? { in_reply_to: state.inReplyTo } : {}),
          ...payload,
        });
    if (!latest.current.draftId) {
      latest.current = { ...latest.current, draftId: saved.id };
      if (!unmounted.current) onDraftIdRef.current(saved.id);
    }
    savedVersion.current = Math.max(savedVersion.current, target);
    failures.current = 0;
    setError(null);
    const done = savedVersion.current === version.current;
    writeBackup(userId, { state: latest.current, saved: done });
    setStatus(done ? "saved" : "saving");
  }, [userId]);

  const save = useCallback((): Promise<void> => {
    if (paused.current) return Promise.resolve();
    if (inFlight.current) return inFlight.current;
    clearTimer();
    const run = saveOnce()
      .catch((failure: unknown) => {
        setError(failure);
        setStatus("failed");
        const wait = RETRY_MS[Math.min(failures.current, RETRY_MS.length - 1)] ?? 30000;
        failures.current += 1;
        if (!unmounted.current) timer.current = setTimeout(() => void save().catch(() => undefined), wait);
        throw failure;
      })
      .finally(() => {
        inFlight.current = null;
      });
    inFlight.current = run.then(() => {
      // Changes made while this request was out go in the next one.
      if (savedVersion.current !== version.current && !timer.current && !unmounted.current) {
        timer.current = setTimeout(() => void save().catch(() => undefined), delay);
      }
    });
    return inFlight.current;
  }, [saveOnce, delay]);

  const changed = useCallback(
    (state: ComposeState) => {
      latest.current = { ...state, draftId: latest.current.draftId ?? state.draftId };
      version.current += 1;
      writeBackup(userId, { state: latest.current, saved: false });
      clearTimer();
      timer.current = setTimeout(() => void save().catch(() => undefined), delay);
    },
    [userId, save, delay],
  );

  const flush = useCallback(async (): Promise<string> => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (inFlight.current) await inFlight.current;
      if (savedVersion.current === version.current && latest.current.draftId) return latest.current.draftId;
      await save();
    }
    if (latest.current.draftId) return latest.current.draftId;
    throw new Error("draft not saved");
  }, [save]);

  useEffect(() => {
    unmounted.current = false;
    return () => {
      unmounted.current = true;
      clearTimer();
      // Replaced by another compose window with changes still waiting: send them now
      // (the local backup stays until the server has them).
      if (savedVersion.current !== version.current && !inFlight.current && !paused.current) {
        void saveOnce().catch(() => undefined);
      }
    };
  }, [saveOnce]);

  const pause = useCallback((value: boolean) => {
    paused.current = value;
    if (value) clearTimer();
  }, []);

  return { status, error, changed, flush, pause };
}
