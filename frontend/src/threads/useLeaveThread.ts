import { useNavigate } from "react-router";

import { listPath, threadPath } from "../app/paths";
import type { Place } from "../app/usePlace";
import { useListOrder } from "./ThreadList";

/** After the open thread leaves the list (archived, trashed…): open the next one, else the list. */
export function useLeaveThread(place: Place) {
  const navigate = useNavigate();
  const order = useListOrder(place.list);
  return () => {
    if (!place.list) return;
    const next = order.neighbour(place.threadId, 1) ?? order.neighbour(place.threadId, -1);
    void navigate(next && next.id !== place.threadId ? threadPath(place.list, next.id) : listPath(place.list));
  };
}
