# ruff: noqa: E501  (the matrix is a table: one row per line reads best)
"""Every API endpoint x every persona, with the status each must get.

Personas (see tests/conftest.py ``World``): anonymous; ``outsider`` (another
tenant); ``domain_admin`` (administers the domain, no access to its mail);
``viewer``, ``editor``, ``sender``, ``admin`` (roles on the shared mailbox).

``test_matrix_covers_every_endpoint`` walks the URL resolver: an endpoint
added without a row here fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from facteur.mail.services import drafts, labels, sharing
from facteur.sending import services as sending
from tests import factories
from tests.conftest import World

PERSONAS = ["anonymous", "outsider", "domain_admin", "viewer", "editor", "sender", "admin"]
MEMBERS = ["viewer", "editor", "sender", "admin"]


def statuses(default: int, **overrides: int) -> dict[str, int]:
    """``default`` for mailbox members; strangers get 404 unless said otherwise."""
    table = {"anonymous": 401, "outsider": 404, "domain_admin": 404}
    table.update(dict.fromkeys(MEMBERS, default))
    table.update(overrides)
    return table


EDITORS_ONLY = {"viewer": 403}
ADMINS_ONLY = {"viewer": 403, "editor": 403, "sender": 403}


@dataclass
class Case:
    route: str
    method: str
    path: Callable[[World, dict[str, Any]], str]
    expect: dict[str, int]
    body: Callable[[World, dict[str, Any]], Any] = lambda w, extra: None
    setup: Callable[[World], dict[str, Any]] = lambda w: {}
    multipart: bool = False
    variant: str = ""
    extra_ids: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}{' ' + self.variant if self.variant else ''}"


def _share_setup(w: World) -> dict[str, Any]:
    third = factories.mailbox(w.domain, "third")
    return {
        "share": sharing.thread_share(
            thread=w.thread, mailbox=third, role="viewer", by_user_id=None
        )
    }


def _label_setup(w: World) -> dict[str, Any]:
    return {"label": labels.label_create(mailbox_id=w.mailbox.pk, name="Clients/ACME")}


def _draft_setup(w: World) -> dict[str, Any]:
    return {
        "draft": drafts.draft_create(mailbox=w.mailbox, fields=drafts.DraftFields(subject="Draft"))
    }


def _draft_to_send_setup(w: World) -> dict[str, Any]:
    fields = drafts.DraftFields(subject="Draft", to=[{"email": "someone@elsewhere.test"}])
    return {"draft": drafts.draft_create(mailbox=w.mailbox, fields=fields)}


def _sending_setup(w: World) -> dict[str, Any]:
    # Queued, in its undo window (the task is scheduled on commit: never, in these tests).
    draft, later = _draft_to_send_setup(w)["draft"], timezone.now() + timedelta(hours=1)
    return {"message": sending.message_send_request(draft=draft, send_at=later)}


def _failed_send_setup(w: World) -> dict[str, Any]:
    # Sent, and its recipient refused: something to retry.
    message = _sending_setup(w)["message"]
    message.recipients.update(delivery_status="failed", delivery_message="550 5.1.1 No such user")
    return {"message": message}


def _newcomer_setup(w: World) -> dict[str, Any]:
    return {"newcomer": factories.user("newcomer@tenant.test")}


def _viewer_access(w: World) -> dict[str, Any]:
    return {"access": w.mailbox.accesses.get(user=w.users["viewer"])}


API = "/api/v1.0"
CASES = [
    Case("api-schema", "get", lambda w, x: f"{API}/schema/", dict.fromkeys(PERSONAS, 200)),
    # authentication and the caller's own account
    Case("auth-config", "get", lambda w, x: f"{API}/auth/config/", dict.fromkeys(PERSONAS, 200)),
    Case("auth-csrf", "get", lambda w, x: f"{API}/auth/csrf/", dict.fromkeys(PERSONAS, 200)),
    Case("auth-login", "post", lambda w, x: f"{API}/auth/login/", dict.fromkeys(PERSONAS, 400),
         body=lambda w, x: {"email": "viewer@tenant.test", "password": "wrong"}),
    Case("auth-logout", "post", lambda w, x: f"{API}/auth/logout/", dict.fromkeys(PERSONAS, 204)),
    Case("users-me", "get", lambda w, x: f"{API}/users/me/", statuses(200, outsider=200, domain_admin=200)),
    Case("users-me", "patch", lambda w, x: f"{API}/users/me/", statuses(200, outsider=200, domain_admin=200),
         body=lambda w, x: {"full_name": "Renamed"}),
    # mailboxes
    Case("mailboxes-list", "get", lambda w, x: f"{API}/mailboxes/", statuses(200, outsider=200, domain_admin=200)),
    Case("mailboxes-detail", "get", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/", statuses(200)),
    Case("mailboxes-accesses", "get", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/accesses/", statuses(200, domain_admin=200)),
    Case("mailboxes-accesses", "post", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/accesses/",
         statuses(201, domain_admin=201, **ADMINS_ONLY), setup=_newcomer_setup,
         body=lambda w, x: {"user": "newcomer@tenant.test", "role": "viewer"}),
    Case("mailboxes-accesses-detail", "patch", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/accesses/{x['access'].pk}/",
         statuses(200, domain_admin=200, **ADMINS_ONLY), setup=_viewer_access, body=lambda w, x: {"role": "editor"}),
    Case("mailboxes-accesses-detail", "delete", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/accesses/{x['access'].pk}/",
         statuses(204, domain_admin=204, **ADMINS_ONLY), setup=_viewer_access),
    Case("mailboxes-blobs", "post", lambda w, x: f"{API}/mailboxes/{w.mailbox.pk}/blobs/",
         statuses(201, **EDITORS_ONLY), multipart=True,
         body=lambda w, x: {"file": SimpleUploadedFile("a.txt", b"hello", "text/plain")}),
    # domain administration
    Case("maildomains-list", "get", lambda w, x: f"{API}/maildomains/", statuses(200, outsider=200, domain_admin=200)),
    Case("maildomains-detail", "get", lambda w, x: f"{API}/maildomains/{w.domain.pk}/",
         statuses(404, domain_admin=200)),
    Case("maildomains-mailboxes", "get", lambda w, x: f"{API}/maildomains/{w.domain.pk}/mailboxes/",
         statuses(404, domain_admin=200)),
    Case("maildomains-mailboxes", "post", lambda w, x: f"{API}/maildomains/{w.domain.pk}/mailboxes/",
         statuses(404, domain_admin=201), body=lambda w, x: {"local_part": "sales", "kind": "shared"}),
    # threads
    Case("threads-list", "get", lambda w, x: f"{API}/threads/?mailbox={w.mailbox.pk}", statuses(200)),
    Case("threads-list", "get", lambda w, x: f"{API}/threads/", statuses(200, outsider=200, domain_admin=200),
         variant="all mailboxes"),
    Case("threads-list", "get", lambda w, x: f"{API}/threads/?mailbox={w.mailbox.pk}&search=request+in:all",
         statuses(200), variant="search"),
    Case("threads-detail", "get", lambda w, x: f"{API}/threads/{w.thread.pk}/", statuses(200)),
    Case("threads-messages", "get", lambda w, x: f"{API}/threads/{w.thread.pk}/messages/", statuses(200)),
    Case("threads-accesses", "get", lambda w, x: f"{API}/threads/{w.thread.pk}/accesses/", statuses(200)),
    Case("threads-accesses", "post", lambda w, x: f"{API}/threads/{w.thread.pk}/accesses/",
         statuses(201, **EDITORS_ONLY), body=lambda w, x: {"mailbox": w.other_mailbox.address, "role": "viewer"}),
    Case("threads-accesses-detail", "patch", lambda w, x: f"{API}/threads/{w.thread.pk}/accesses/{x['share'].pk}/",
         statuses(200, **EDITORS_ONLY), setup=_share_setup, body=lambda w, x: {"role": "editor"}),
    Case("threads-accesses-detail", "delete", lambda w, x: f"{API}/threads/{w.thread.pk}/accesses/{x['share'].pk}/",
         statuses(204, **EDITORS_ONLY), setup=_share_setup),
    # messages
    Case("messages-detail", "get", lambda w, x: f"{API}/messages/{w.message.pk}/", statuses(200)),
    Case("messages-detail", "delete", lambda w, x: f"{API}/messages/{w.message.pk}/", statuses(204, **EDITORS_ONLY)),
    Case("messages-raw", "get", lambda w, x: f"{API}/messages/{w.message.pk}/raw/", statuses(200)),
    Case("flags", "post", lambda w, x: f"{API}/flags/", statuses(200, **EDITORS_ONLY),
         body=lambda w, x: {"flag": "starred", "value": True, "thread_ids": [str(w.thread.pk)]}),
    Case("flags", "post", lambda w, x: f"{API}/flags/", statuses(200), variant="read state is personal",
         body=lambda w, x: {"flag": "unread", "value": False, "message_ids": [str(w.message.pk)]}),
    # labels
    Case("labels-list", "get", lambda w, x: f"{API}/labels/", statuses(200, outsider=200, domain_admin=200)),
    Case("labels-list", "post", lambda w, x: f"{API}/labels/", statuses(201, outsider=400, domain_admin=400, **EDITORS_ONLY),
         body=lambda w, x: {"mailbox": str(w.mailbox.pk), "name": "Urgent", "color": "#ff0000"}),
    Case("labels-detail", "patch", lambda w, x: f"{API}/labels/{x['label'].pk}/", statuses(200, **EDITORS_ONLY),
         setup=_label_setup, body=lambda w, x: {"name": "Clients/Globex"}),
    Case("labels-detail", "delete", lambda w, x: f"{API}/labels/{x['label'].pk}/", statuses(204, **EDITORS_ONLY),
         setup=_label_setup),
    Case("labels-threads", "post", lambda w, x: f"{API}/labels/{x['label'].pk}/threads/", statuses(200, **EDITORS_ONLY),
         setup=_label_setup, body=lambda w, x: {"thread_ids": [str(w.thread.pk)]}),
    Case("labels-threads-remove", "post", lambda w, x: f"{API}/labels/{x['label'].pk}/threads/remove/", statuses(200, **EDITORS_ONLY),
         setup=_label_setup, body=lambda w, x: {"thread_ids": [str(w.thread.pk)]}),
    # contacts
    Case("contacts-list", "get", lambda w, x: f"{API}/contacts/?q=al", statuses(200, outsider=200, domain_admin=200)),
    # drafts
    Case("drafts-list", "post", lambda w, x: f"{API}/drafts/", statuses(201, outsider=400, domain_admin=400, **EDITORS_ONLY),
         body=lambda w, x: {"mailbox": str(w.mailbox.pk), "subject": "Hi", "to": [{"email": "a@b.test"}]}),
    Case("drafts-detail", "patch", lambda w, x: f"{API}/drafts/{x['draft'].pk}/", statuses(200, **EDITORS_ONLY),
         setup=_draft_setup, body=lambda w, x: {"subject": "Hello again"}),
    Case("drafts-detail", "delete", lambda w, x: f"{API}/drafts/{x['draft'].pk}/", statuses(204, **EDITORS_ONLY),
         setup=_draft_setup),
    # sending
    Case("drafts-send", "post", lambda w, x: f"{API}/drafts/{x['draft'].pk}/send/", statuses(202, viewer=403, editor=403),
         setup=_draft_to_send_setup, body=lambda w, x: {}),
    Case("messages-cancel-send", "post", lambda w, x: f"{API}/messages/{x['message'].pk}/cancel-send/",
         statuses(200, viewer=403, editor=403), setup=_sending_setup),
    Case("messages-retry-send", "post", lambda w, x: f"{API}/messages/{x['message'].pk}/retry-send/",
         statuses(202, viewer=403, editor=403), setup=_failed_send_setup),
    Case("outbox", "get", lambda w, x: f"{API}/outbox/?mailbox={w.mailbox.pk}", statuses(200), setup=_sending_setup),
    # blobs
    Case("blobs-detail", "get", lambda w, x: f"{API}/blobs/{w.message.attachments.get().blob_id}/", statuses(200)),
    # internal API for the MTA: service token only, no session counts (the tests run with
    # FACTEUR_SERVICE_TOKEN empty: the API is disabled, 404; tests/mta/test_mta_api.py
    # checks the personas with a token configured: 401 for every session)
    Case("mta-recipient", "get", lambda w, x: f"{API}/mta/recipients/{w.mailbox.address}/", dict.fromkeys(PERSONAS, 404)),
    # internal API for the operator: the same door (tests/operator/test_operator_api.py
    # checks the token, its absence and every persona's session with the API enabled)
    Case("operator-domain", "put", lambda w, x: f"{API}/operator/domains/{w.domain.name}/", dict.fromkeys(PERSONAS, 404),
         body=lambda w, x: {"admins": []}),
    Case("operator-domain", "delete", lambda w, x: f"{API}/operator/domains/{w.domain.name}/", dict.fromkeys(PERSONAS, 404)),
    Case("operator-dkim-key", "put", lambda w, x: f"{API}/operator/domains/{w.domain.name}/dkim/", dict.fromkeys(PERSONAS, 404),
         body=lambda w, x: {"selector": "s1", "algorithm": "rsa-sha256", "private_key": ""}),
    Case("operator-mailbox", "put", lambda w, x: f"{API}/operator/mailboxes/{w.mailbox.address}/", dict.fromkeys(PERSONAS, 404),
         body=lambda w, x: {}),
    Case("operator-mailboxes", "post", lambda w, x: f"{API}/operator/mailboxes/", dict.fromkeys(PERSONAS, 404),
         body=lambda w, x: {"mailboxes": [{"address": w.mailbox.address}]}),
    Case("operator-mailbox", "delete", lambda w, x: f"{API}/operator/mailboxes/{w.mailbox.address}/", dict.fromkeys(PERSONAS, 404)),
]  # fmt: skip


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_authorization(world: World, case: Case, persona: str) -> None:
    extra = case.setup(world)
    client = world.client(persona)
    body = case.body(world, extra)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = (
            {"data": body} if case.multipart else {"data": body, "content_type": "application/json"}
        )
    response = getattr(client, case.method)(case.path(world, extra), **kwargs)
    expected = case.expect[persona]
    assert response.status_code == expected, (
        f"{case.id} as {persona}: {response.status_code} != {expected}: "
        f"{getattr(response, 'content', b'')[:300]!r}"
    )


def _api_routes() -> set[tuple[str, str]]:
    """(route name, method) of every view under /api/v1.0/."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith(
                "api/"
            ):
                view = getattr(pattern.callback, "view_class", None) or getattr(
                    pattern.callback, "cls", None
                )
                methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]
                for method in methods:
                    found.add((pattern.name, method))

    walk(get_resolver().url_patterns, "")
    return found


def test_matrix_covers_every_endpoint() -> None:
    covered = {(case.route, case.method) for case in CASES}
    missing = _api_routes() - covered
    assert not missing, f"endpoints without an authorisation row: {sorted(missing)}"
    stale = covered - _api_routes()
    assert not stale, f"rows for endpoints that no longer exist: {sorted(stale)}"


def test_every_case_names_every_persona() -> None:
    for case in CASES:
        assert set(case.expect) == set(PERSONAS), case.id
