"""Kubernetes Events on what changed: a DKIM key made or rotated, DNS records changed, the
backend brought in line, a deletion held back. Posted through kopf's event queue (in the
background, retried), only when something changed, so that a steady state posts nothing;
kopf's own log-based Events stay at WARNING and above (handlers.configure).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import kopf

log = logging.getLogger(__name__)
MAX_MESSAGE = 1000  # what an Event's message holds comfortably


def post(obj: Mapping, reason: str, message: str, *, warning: bool = False) -> None:
    try:
        kopf.event(
            dict(obj),
            type="Warning" if warning else "Normal",
            reason=reason,
            message=message[:MAX_MESSAGE],
        )
    except LookupError:  # outside kopf's context (a unit test): nothing to post to
        log.debug("event %s not posted: %s", reason, message)


def records_changed(before: list[dict] | None, after: list[dict]) -> str:
    """``+ TXT s2._domainkey.example.org.; ~ TXT _dmarc.example.org.; - MX ...``: what the
    zone must change (added, changed, removed), by type and name (values can be long);
    empty when nothing did."""

    def by_key(records: list[dict] | None) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for r in records or []:
            out.setdefault((r["type"], r["name"]), set()).add(r["value"])
        return out

    old, new = by_key(before), by_key(after)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            changes.append(f"+ {key[0]} {key[1]}")
        elif key not in new:
            changes.append(f"- {key[0]} {key[1]}")
        elif old[key] != new[key]:
            changes.append(f"~ {key[0]} {key[1]}")
    return "; ".join(changes)
