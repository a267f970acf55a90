"""Spec in, desired status out: what a MailDomain's and a Mailbox's status should say.

Pure: the handlers gather the facts (the key in the Secret, the backend's answer) and
these functions say what the status is, so that the same facts give the same status and
a steady state writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from facteur.domains.dnsrecords import Record
from facteur_operator.conditions import TRUE, Condition, merge, ready
from facteur_operator.dkim import DkimKey
from facteur_operator.mta_objects import NOT_MANAGED
from facteur_operator.specs import DomainSpec, MailboxSpec


def domain_status(
    *,
    spec: DomainSpec,
    key: DkimKey | None,
    secret_name: str,
    dkim: Condition,
    dns: Condition,
    backend: Condition,
    found: list[Record],
    current: dict,
    generation: int | None,
    now: datetime,
    next_key: DkimKey | None = None,
    mta: Condition = NOT_MANAGED,
) -> dict:
    """``mta``: MTAReady, waited for unless the operator does not manage the MTA."""
    parts = [dkim, dns, backend]
    waited = [*parts, mta] if mta.reason != NOT_MANAGED.reason else parts
    conditions = merge(
        current.get("conditions"),
        [
            ready(waited, ready_message=ready_message(spec.domain)),
            *parts,
            mta,
        ],
        generation=generation,
        now=now,
    )
    status: dict = {"conditions": conditions, "dnsRecords": [r.as_dict() for r in found]}
    if generation is not None:
        status["observedGeneration"] = generation
    if key is not None:
        status["dkim"] = {
            "activeSelector": key.selector,
            "algorithm": key.algorithm,
            "secretName": secret_name,
            "publicTxt": key.txt,
        }
        if next_key is not None:
            status["dkim"]["nextSelector"] = next_key.selector
    return status


def ready_message(domain: str) -> str:
    return f"{domain} is configured; publish status.dnsRecords"


def mailbox_status(
    *,
    spec: MailboxSpec,
    domain: str | None,
    backend: Condition,
    current: dict,
    generation: int | None,
    now: datetime,
) -> dict:
    conditions = merge(
        current.get("conditions"),
        [ready([backend], ready_message="the mailbox exists in the backend"), backend],
        generation=generation,
        now=now,
    )
    status: dict = {"conditions": conditions}
    if domain is not None:
        status["address"] = f"{spec.local_part}@{domain}"
    if generation is not None:
        status["observedGeneration"] = generation
    return status


def status_patch(current: dict, desired: dict) -> dict:
    """A merge patch of the fields of ``desired`` that differ from ``current``: empty when
    nothing changed. Inside a field (``dkim``) a key that is no longer wanted is nulled;
    top-level fields ``desired`` does not name are left alone (an invalid spec keeps the
    last records)."""
    return {k: _diff(current.get(k), v) for k, v in desired.items() if current.get(k) != v}


def _diff(before: object, after: object) -> object:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return after
    patch = {k: _diff(before.get(k), v) for k, v in after.items() if before.get(k) != v}
    patch.update({k: None for k in before if k not in after})
    return patch


def ok(kind: str, reason: str, message: str = "") -> Condition:
    return Condition(kind, TRUE, reason, message)


def merge_conditions(
    current: dict, wanted: list[Condition], generation: int | None, now: datetime
) -> list[dict]:
    return merge(current.get("conditions"), wanted, generation=generation, now=now)
