// What one can do to conversations, one or many at once: flags (star, read, archive,
// trash, spam) through POST /flags/ and labels through /labels/{id}/threads/ and
// /labels/{id}/threads/remove/.
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { invalidateMail } from "../api/cache";
import { flagsUpdate } from "../api/generated/endpoints/flags/flags";
import { labelsThreadsAdd, labelsThreadsRemove } from "../api/generated/endpoints/labels/labels";
import type { FlagEnum } from "../api/generated/model";

export type ThreadAction =
  | { kind: "flag"; flag: FlagEnum; value: boolean; ids: string[] }
  | { kind: "label"; labelId: string; add: boolean; ids: string[] };

/** Actions that take the threads out of the list one is looking at. */
export function removesFromView(action: ThreadAction, folder: string | undefined): boolean {
  if (action.kind !== "flag") return false;
  const { flag, value } = action;
  if (flag === "trashed" || flag === "spam") return value !== (folder === "trash" || folder === "spam");
  if (flag === "archived") return folder === "inbox" ? value : folder === "archive" && !value;
  if (flag === "starred") return folder === "starred" && !value;
  return false;
}

export async function runThreadAction(action: ThreadAction): Promise<void> {
  if (action.ids.length === 0) return;
  if (action.kind === "flag") {
    await flagsUpdate({ flag: action.flag, value: action.value, thread_ids: action.ids });
  } else if (action.add) {
    await labelsThreadsAdd(action.labelId, { thread_ids: action.ids });
  } else {
    await labelsThreadsRemove(action.labelId, { thread_ids: action.ids });
  }
}

export function useThreadActions() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: runThreadAction,
    onSettled: () => invalidateMail(queryClient),
  });
}
