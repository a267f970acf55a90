"""DKIM key rotation as a pure plan (no server).

Scenarios: a fresh key is left alone; an overlap before it is due a next key is made
(under a selector not already published) and both records are out; one overlap later the
next key becomes active and the old one previous (still published); one overlap later
again the previous key goes; the overlap is two days or a quarter of the period; the
keys round-trip through the Secret's data (absent slots are nulls of the merge patch);
a damaged next key is dropped, a damaged active key makes the Secret unusable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facteur_operator import dkim, dns, rotation, specs

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
SPEC = specs.domain_spec(
    {"domain": "example.org", "dkim": {"algorithm": "ed25519", "rotationPeriod": "30d"}}
)
GAP = timedelta(days=2)


def test_the_overlap() -> None:
    assert rotation.overlap(timedelta(days=180)) == timedelta(days=2)
    assert rotation.overlap(timedelta(hours=4)) == timedelta(hours=1)


def test_a_full_rotation() -> None:
    keys = rotation.KeySet(active=dkim.new_key(SPEC, T0))
    assert keys.active.selector == "facteur-202601"
    # Not due: nothing changes.
    assert rotation.plan(keys, SPEC, T0 + timedelta(days=27)) == keys
    # An overlap before it is due: a next key, published beside the active one.
    t1 = T0 + timedelta(days=28)
    step1 = rotation.plan(keys, SPEC, t1)
    assert step1.active == keys.active and step1.next is not None
    assert step1.next.selector == "facteur-202602"
    assert [k.selector for k in step1.published] == ["facteur-202601", "facteur-202602"]
    assert rotation.plan(step1, SPEC, t1 + GAP - timedelta(minutes=1)) == step1
    # One overlap later: the next key signs, the old one is still published.
    t2 = t1 + GAP
    step2 = rotation.plan(step1, SPEC, t2)
    assert step2.active == step1.next and step2.previous == keys.active
    assert step2.next is None and step2.switched == t2
    assert [k.selector for k in step2.published] == ["facteur-202601", "facteur-202602"]
    # One overlap later again: the old key and its record go.
    step3 = rotation.plan(step2, SPEC, t2 + GAP)
    assert step3 == rotation.KeySet(active=step1.next, switched=t2)
    records = dns.records(
        SPEC, step3.active, default_mx="mx.example.net", ttl=300, published=step3.published
    )
    assert [r.name for r in records if "_domainkey" in r.name] == [
        "facteur-202602._domainkey.example.org."
    ]


def test_a_next_key_in_the_same_month_gets_a_new_selector() -> None:
    spec = specs.domain_spec(
        {"domain": "example.org", "dkim": {"algorithm": "ed25519", "rotationPeriod": "8h"}}
    )
    keys = rotation.KeySet(active=dkim.new_key(spec, T0))
    step = rotation.plan(keys, spec, T0 + timedelta(hours=6))
    assert step.next is not None and step.next.selector == "facteur-202601-2"


def test_keys_round_trip_through_the_secret() -> None:
    keys = rotation.plan(
        rotation.KeySet(active=dkim.new_key(SPEC, T0)), SPEC, T0 + timedelta(days=28)
    )
    keys = rotation.plan(keys, SPEC, T0 + timedelta(days=30))
    data = rotation.secret_data_of(keys)
    assert data["next.selector"] is None and data["previous.selector"] is not None
    stored = {k: v for k, v in data.items() if v is not None}
    assert rotation.from_secret({"data": stored}) == keys


def test_damaged_keys() -> None:
    keys = rotation.plan(
        rotation.KeySet(active=dkim.new_key(SPEC, T0)), SPEC, T0 + timedelta(days=28)
    )
    data = {k: v for k, v in rotation.secret_data_of(keys).items() if v is not None}
    broken_next = {**data, "next.public": data["public"]}
    assert rotation.from_secret({"data": broken_next}) == rotation.KeySet(active=keys.active)
    assert rotation.from_secret({"data": {**data, "public": data["next.public"]}}) is None
