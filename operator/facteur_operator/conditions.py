"""Status conditions (type, status, reason, message, lastTransitionTime, observedGeneration).

``lastTransitionTime`` moves only when ``status`` changes, so that reconciling an object
whose state did not change computes the very same status: nothing to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str = ""


def merge(
    current: list[dict] | None, wanted: list[Condition], *, generation: int | None, now: datetime
) -> list[dict]:
    """The conditions list after ``wanted``; conditions not named there are kept."""
    previous = {c.get("type"): c for c in current or []}
    out = []
    for cond in wanted:
        before = previous.pop(cond.type, None)
        changed = before is None or before.get("status") != cond.status
        entry = {
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message,
            "lastTransitionTime": (
                _stamp(now) if changed else before.get("lastTransitionTime") or _stamp(now)
            ),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        out.append(entry)
    return out + list(previous.values())


def put(
    current: list[dict] | None, cond: Condition, *, generation: int | None, now: datetime
) -> list[dict]:
    """``current`` with ``cond`` in its place (appended when new), the others untouched."""
    (entry,) = merge([c for c in current or [] if c.get("type") == cond.type], [cond],
                     generation=generation, now=now)  # fmt: skip
    if any(c.get("type") == cond.type for c in current or []):
        return [entry if c.get("type") == cond.type else c for c in current or []]
    return [*(current or []), entry]


def ready(parts: list[Condition], *, ready_message: str) -> Condition:
    """Ready: True when every part is True; else the first part that is not, as the reason."""
    for part in parts:
        if part.status != TRUE:
            return Condition("Ready", FALSE, part.reason, f"{part.type}: {part.message}")
    return Condition("Ready", TRUE, "Reconciled", ready_message)


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
