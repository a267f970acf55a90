"""Internal endpoints for the Kubernetes operator: idempotent upserts of what it declares.

``PUT`` brings a domain, its DKIM key or a mailbox in line with the whole declared state
and answers ``changed``; ``POST mailboxes/`` does it for many mailboxes at once (the
operator gathers the upserts of a burst into it); ``DELETE`` applies the resource's
deletionPolicy (Retain keeps the records and mail, no longer managed; Delete removes them)
and answers 204 also when there was nothing left, so that a retried deletion succeeds.
"""

from __future__ import annotations

import base64
import binascii

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from facteur.api.validation import field_error, validated
from facteur.domains import managed
from facteur.domains.models import MailDomain
from facteur.domains.validation import clean_domain_name
from facteur.internal.apis import InternalApi
from facteur.internal.throttling import OperatorApiThrottle

ROLES = ["viewer", "editor", "sender", "admin"]


class DomainIn(serializers.Serializer):
    admins = serializers.ListField(child=serializers.EmailField(), max_length=100, default=list)


class DkimKeyIn(serializers.Serializer):
    selector = serializers.CharField(max_length=63)
    algorithm = serializers.ChoiceField(choices=["rsa-sha256", "ed25519-sha256"])
    private_key = serializers.CharField(max_length=8192, help_text="base64 of the private key")


class GrantIn(serializers.Serializer):
    user = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLES)


class MailboxIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=["personal", "shared"], default="personal")
    display_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    aliases = serializers.ListField(child=serializers.CharField(max_length=64), default=list)
    access = GrantIn(many=True, default=list)


BATCH_MAX = 100  # mailboxes in one batch: a batch is held for its whole length


class MailboxItemIn(MailboxIn):
    address = serializers.CharField(max_length=320)


class MailboxBatchIn(serializers.Serializer):
    mailboxes = MailboxItemIn(many=True, allow_empty=False, max_length=BATCH_MAX)


class ReleaseIn(serializers.Serializer):
    deletionPolicy = serializers.ChoiceField(
        choices=[managed.RETAIN, managed.DELETE], default=managed.RETAIN
    )


class OperatorApi(InternalApi):
    # The operator makes one call per resource on every resync: its own, higher, rate.
    throttle_class = OperatorApiThrottle


def _domain(name: str) -> MailDomain:
    return get_object_or_404(MailDomain, name=clean_domain_name(name))


@extend_schema(exclude=True)
class OperatorDomainApi(OperatorApi):
    def put(self, request: Request, name: str) -> Response:
        data = validated(DomainIn, request.data)
        result = managed.domain_upsert(name=name, admins=data["admins"])
        domain = result.obj
        return Response({"domain": domain.name, "id": str(domain.pk), "changed": result.changed})

    def delete(self, request: Request, name: str) -> Response:
        policy = validated(ReleaseIn, request.query_params)["deletionPolicy"]
        managed.domain_release(name=name, policy=policy)
        return Response(status=204)


@extend_schema(exclude=True)
class OperatorDkimKeyApi(OperatorApi):
    def put(self, request: Request, name: str) -> Response:
        data = validated(DkimKeyIn, request.data)
        try:
            private = base64.b64decode(data["private_key"], validate=True)
        except (binascii.Error, ValueError):
            raise field_error("private_key", "Not base64.") from None
        result = managed.dkim_key_upsert(
            domain=_domain(name),
            selector=data["selector"],
            algorithm=data["algorithm"],
            private=private,
        )
        return Response({"selector": result.obj.selector, "changed": result.changed})


@extend_schema(exclude=True)
class OperatorMailboxApi(OperatorApi):
    def put(self, request: Request, address: str) -> Response:
        local, domain = _split(address)
        data = validated(MailboxIn, request.data)
        result = managed.mailbox_upsert(_wanted(_domain(domain), local, data))
        mailbox = result.obj
        return Response(
            {"address": mailbox.address, "id": str(mailbox.pk), "changed": result.changed}
        )

    def delete(self, request: Request, address: str) -> Response:
        local, domain_name = _split(address)
        policy = validated(ReleaseIn, request.query_params)["deletionPolicy"]
        domain = MailDomain.objects.filter(name=clean_domain_name(domain_name)).first()
        if domain is not None:
            managed.mailbox_release(domain=domain, local_part=local, policy=policy)
        return Response(status=204)


@extend_schema(exclude=True)
class OperatorMailboxBatchApi(OperatorApi):
    """Up to ``BATCH_MAX`` mailboxes upserted in one call, each as ``PUT mailboxes/ADDRESS/``
    would, in a transaction of its own: one refused (400) or without its domain (404) has
    its own answer and holds the others back in nothing. 200 with one result per item, in
    order; 400 only when the body itself is malformed."""

    def post(self, request: Request) -> Response:
        items = validated(MailboxBatchIn, request.data)["mailboxes"]
        targets = [_target(item["address"]) for item in items]
        names = {t[1] for t in targets if isinstance(t, tuple)}
        domains = {d.name: d for d in MailDomain.objects.filter(name__in=names)}  # one query
        refusals: list[dict | None] = []
        wanted: list[managed.WantedMailbox] = []
        for item, target in zip(items, targets, strict=True):
            if isinstance(target, dict):
                refusals.append(target)
            elif target[1] not in domains:
                refusals.append(
                    {"address": item["address"], "status": 404, "detail": f"no domain {target[1]}"}
                )
            else:
                refusals.append(None)
                wanted.append(_wanted(domains[target[1]], target[0], item))
        outcomes = iter(managed.mailboxes_upsert(wanted))
        return Response(
            {
                "results": [
                    refused or _answer(item["address"], next(outcomes))
                    for item, refused in zip(items, refusals, strict=True)
                ]
            }
        )


def _target(address: str) -> tuple[str, str] | dict:
    """The address's local part and clean domain name, or the answer refusing it (as a PUT
    of it would say)."""
    try:
        local, name = _split(address)
        return local, clean_domain_name(name)
    except serializers.ValidationError as exc:  # _split's, as a PUT would answer it
        return {"address": address, "status": 400, "detail": " ".join(exc.detail["address"])}
    except ValidationError as exc:
        return {"address": address, "status": 400, "detail": " ".join(exc.messages)}


def _answer(address: str, outcome: managed.Result | ValidationError) -> dict:
    if isinstance(outcome, ValidationError):
        return {"address": address, "status": 400, "detail": " ".join(outcome.messages)}
    mailbox = outcome.obj
    return {"address": mailbox.address, "id": str(mailbox.pk), "changed": outcome.changed}


def _wanted(domain: MailDomain, local: str, data: dict) -> managed.WantedMailbox:
    return managed.WantedMailbox(
        domain=domain,
        local_part=local,
        kind=data["type"],
        display_name=data["display_name"],
        aliases=data["aliases"],
        access=[managed.Grant(g["user"], g["role"]) for g in data["access"]],
    )


def _split(address: str) -> tuple[str, str]:
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise field_error("address", f"{address!r} is not an e-mail address.")
    return local, domain
