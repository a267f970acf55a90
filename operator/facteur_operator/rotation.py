"""DKIM key rotation, as a pure plan over the keys a domain's Secret holds.

A key is replaced ``rotationPeriod`` after it was made, in three steps, each one overlap
apart so that DNS caches and mail in flight never meet a selector they cannot verify:

1. ``overlap`` before the key is due, a **next** key is made and its TXT record published
   (status.dnsRecords, DNSEndpoint) while the active key still signs;
2. one overlap later, the next key becomes **active** (the backend signs with it) and the
   old one becomes **previous**, still published;
3. one overlap later again, the previous key and its record are removed.

In the Secret, the next and previous keys use the same fields as the active one with the
prefixes ``next.`` and ``previous.``; ``switched`` is when step 2 last happened.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from facteur_operator.dkim import FIELDS, DkimKey, key_from_data, new_key, secret_data
from facteur_operator.specs import DomainSpec

OVERLAP_MAX = timedelta(days=2)
NEXT, PREVIOUS = "next.", "previous."


@dataclass(frozen=True)
class KeySet:
    active: DkimKey
    next: DkimKey | None = None
    previous: DkimKey | None = None
    switched: datetime | None = None

    @property
    def published(self) -> list[DkimKey]:
        """Every key whose DKIM record must be in DNS, oldest first."""
        return [k for k in (self.previous, self.active, self.next) if k is not None]


def overlap(rotation: timedelta) -> timedelta:
    """How long a new record is published before use, and an old one after: two days, or a
    quarter of the rotation period when that is shorter."""
    return min(OVERLAP_MAX, rotation / 4)


def plan(keys: KeySet, spec: DomainSpec, now: datetime) -> KeySet:
    """The keys the Secret should hold at ``now`` (the same KeySet when nothing is due)."""
    gap = overlap(spec.dkim_rotation)
    if keys.previous is not None and (keys.switched is None or keys.switched + gap <= now):
        keys = replace(keys, previous=None)
    if keys.next is not None and keys.next.created + gap <= now:
        keys = KeySet(active=keys.next, previous=keys.active, switched=now)
    if keys.next is None and keys.active.created + spec.dkim_rotation - gap <= now:
        taken = {k.selector for k in keys.published}
        keys = replace(keys, next=new_key(spec, now, taken=taken))
    return keys


def from_secret(secret: dict) -> KeySet | None:
    """The keys a Secret holds; None when its active key is not whole and consistent.
    A damaged next or previous key is dropped (the plan makes a new next one)."""
    data = secret.get("data") or {}
    active = key_from_data(data)
    if active is None:
        return None
    switched = None
    if data.get("switched"):
        try:
            switched = datetime.fromisoformat(base64.b64decode(data["switched"]).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            switched = None
    return KeySet(
        active=active,
        next=key_from_data(data, NEXT),
        previous=key_from_data(data, PREVIOUS),
        switched=switched,
    )


def secret_data_of(keys: KeySet) -> dict[str, str | None]:
    """The Secret's data for ``keys``, as a merge patch: absent slots are null (removed)."""
    data: dict[str, str | None] = dict(secret_data(keys.active))
    for prefix, key in ((NEXT, keys.next), (PREVIOUS, keys.previous)):
        if key is not None:
            data.update(secret_data(key, prefix))
        else:
            data.update(dict.fromkeys((prefix + f for f in FIELDS), None))
    data["switched"] = (
        base64.b64encode(keys.switched.isoformat().encode()).decode() if keys.switched else None
    )
    return data
