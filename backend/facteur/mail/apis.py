"""REST endpoints of the mail store: threads, messages, flags, labels, sharing, drafts,
contacts. Views validate, check the caller's role, call one service or selector."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facteur.api.errors import Conflict, PayloadTooLarge
from facteur.api.validation import field_error, validated
from facteur.blobs.services import blob_read
from facteur.domains.models import Mailbox, MailboxRole
from facteur.domains.selectors import mailbox_for_address
from facteur.mail import selectors, serializers
from facteur.mail.models import (
    VIEW_COUNTERS,
    Label,
    Message,
    Thread,
    ThreadAccess,
    ThreadLabel,
    UnreadMark,
)
from facteur.mail.selectors import Roles
from facteur.mail.services import drafts, flags, labels, sharing
from facteur.search import apis as search_apis
from facteur.sending import services as sending
from facteur.sending.serializers import DraftSendSerializer

# --- threads -----------------------------------------------------------------


def _thread_or_404(roles: Roles, thread_id: uuid.UUID) -> Thread:
    thread = selectors.threads_visible(roles=roles).filter(pk=thread_id).first()
    if thread is None:
        raise NotFound()
    return thread


def _require_thread_editor(roles: Roles, thread: Thread) -> None:
    if selectors.thread_role(roles=roles, thread=thread) != "editor":
        raise PermissionDenied("Your role on this thread does not allow changes.")


class ThreadListApi(APIView):
    @extend_schema(
        operation_id="threads_list",
        parameters=[serializers.ThreadListQuerySerializer],
        responses=serializers.ThreadListSerializer,
    )
    def get(self, request: Request) -> Response:
        query = validated(serializers.ThreadListQuerySerializer, request.query_params)
        roles = Roles.of(request.user)
        mailbox_ids = roles.mailbox_ids
        if "mailbox" in query:
            if not roles.on_mailbox(query["mailbox"]):
                raise NotFound("No such mailbox.")
            mailbox_ids = [str(query["mailbox"])]
        view = query.get("view") or ("all" if "label" in query else "inbox")
        filters = Q(**{f"{VIEW_COUNTERS[view]}__gt": 0})
        if query["starred"] is not None:
            filters &= Q(starred_count__gt=0) if query["starred"] else Q(starred_count=0)
        if query["has_attachments"] is not None:
            filters &= (
                Q(attachment_count__gt=0) if query["has_attachments"] else Q(attachment_count=0)
            )
        if "label" in query:
            label = selectors.labels_visible(roles=roles).filter(pk=query["label"]).first()
            if label is None:
                raise NotFound("No such label.")
            filters &= Q(id__in=ThreadLabel.objects.filter(label=label).values("thread_id"))
        if query["unread"] is not None:
            unread_ids = UnreadMark.objects.filter(user=request.user).values("thread_id")
            filters &= Q(id__in=unread_ids) if query["unread"] else ~Q(id__in=unread_ids)

        if query.get("search"):
            return self._search(request, query, roles, mailbox_ids)
        page, next_cursor = selectors.thread_page(
            roles=roles,
            user=request.user,
            mailbox_ids=mailbox_ids,
            filters=filters,
            cursor=query.get("cursor"),
            size=query["page_size"],
        )
        data = serializers.ThreadSerializer(page, many=True, context={"roles": roles}).data
        return Response({"results": data, "next_cursor": next_cursor})

    def _search(
        self, request: Request, query: dict[str, Any], roles: Roles, mailbox_ids: list[str]
    ) -> Response:
        hits, next_cursor = search_apis.search_page(
            user_id=request.user.pk, mailbox_ids=mailbox_ids, query=query
        )
        rows = selectors.threads_visible(roles=roles).filter(id__in=[t for t, _ in hits])
        rows = selectors.with_my_shares(
            selectors.with_unread_counts(rows, user=request.user), roles=roles
        )
        page, matches = search_apis.in_page_order(list(rows), hits)
        data = serializers.ThreadSerializer(page, many=True, context={"roles": roles}).data
        return Response({"results": data, "next_cursor": next_cursor, "matches": matches})


class ThreadDetailApi(APIView):
    @extend_schema(operation_id="threads_retrieve", responses=serializers.ThreadSerializer)
    def get(self, request: Request, thread_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        visible = selectors.threads_visible(roles=roles).filter(pk=thread_id)
        visible = selectors.with_my_shares(
            selectors.with_unread_counts(visible, user=request.user), roles=roles
        )
        thread = visible.first()
        if thread is None:
            raise NotFound()
        return Response(serializers.ThreadSerializer(thread, context={"roles": roles}).data)


class ThreadMessagesApi(APIView):
    @extend_schema(
        operation_id="threads_messages_list", responses=serializers.MessageSerializer(many=True)
    )
    def get(self, request: Request, thread_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        thread = _thread_or_404(roles, thread_id)
        messages = (
            thread.messages.order_by("received_at", "id")
            .defer("headers")
            .prefetch_related("recipients", "attachments")
        )
        unread_ids = {
            str(m)
            for m in UnreadMark.objects.filter(user=request.user, thread=thread).values_list(
                "message_id", flat=True
            )
        }
        data = serializers.MessageSerializer(
            messages, many=True, context={"roles": roles, "unread_ids": unread_ids}
        ).data
        return Response(data)


class ThreadAccessListApi(APIView):
    @extend_schema(
        operation_id="threads_accesses_list",
        responses=serializers.ThreadAccessSerializer(many=True),
    )
    def get(self, request: Request, thread_id: uuid.UUID) -> Response:
        thread = _thread_or_404(Roles.of(request.user), thread_id)
        accesses = thread.accesses.select_related("mailbox__domain").order_by("created_at")
        return Response(serializers.ThreadAccessSerializer(accesses, many=True).data)

    @extend_schema(
        operation_id="threads_accesses_create",
        request=serializers.ThreadAccessCreateSerializer,
        responses={201: serializers.ThreadAccessSerializer},
    )
    def post(self, request: Request, thread_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        thread = _thread_or_404(roles, thread_id)
        # Only people working in the owning mailbox decide who else sees its thread.
        if not roles.can(thread.mailbox_id, MailboxRole.EDITOR):
            raise PermissionDenied("Only editors of the thread's mailbox can share it.")
        data = validated(serializers.ThreadAccessCreateSerializer, request.data)
        target = _mailbox_by_address_or_id(data["mailbox"])
        if target is None:
            raise field_error("mailbox", "No mailbox has this address.")
        access = sharing.thread_share(
            thread=thread, mailbox=target, role=data["role"], by_user_id=request.user.pk
        )
        return Response(
            serializers.ThreadAccessSerializer(access).data, status=status.HTTP_201_CREATED
        )


class ThreadAccessDetailApi(APIView):
    def _access(self, request: Request, thread_id: uuid.UUID, access_id: uuid.UUID) -> ThreadAccess:
        roles = Roles.of(request.user)
        thread = _thread_or_404(roles, thread_id)
        access = (
            thread.accesses.select_related("mailbox__domain", "thread").filter(pk=access_id).first()
        )
        if access is None:
            raise NotFound()
        if not roles.can(thread.mailbox_id, MailboxRole.EDITOR):
            raise PermissionDenied("Only editors of the thread's mailbox can change its sharing.")
        return access

    @extend_schema(
        operation_id="threads_accesses_update",
        request=serializers.ThreadAccessUpdateSerializer,
        responses=serializers.ThreadAccessSerializer,
    )
    def patch(self, request: Request, thread_id: uuid.UUID, access_id: uuid.UUID) -> Response:
        access = self._access(request, thread_id, access_id)
        data = validated(serializers.ThreadAccessUpdateSerializer, request.data)
        access = sharing.thread_share_update(access=access, role=data["role"])
        return Response(serializers.ThreadAccessSerializer(access).data)

    @extend_schema(operation_id="threads_accesses_destroy", responses={204: None})
    def delete(self, request: Request, thread_id: uuid.UUID, access_id: uuid.UUID) -> Response:
        sharing.thread_unshare(access=self._access(request, thread_id, access_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _mailbox_by_address_or_id(value: str) -> Mailbox | None:
    try:
        return Mailbox.objects.select_related("domain").filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return mailbox_for_address(value)


# --- messages ----------------------------------------------------------------


def _message_or_404(roles: Roles, message_id: uuid.UUID) -> Message:
    message = selectors.messages_visible(roles=roles).filter(pk=message_id).first()
    if message is None:
        raise NotFound()
    return message


class MessageDetailApi(APIView):
    @extend_schema(operation_id="messages_retrieve", responses=serializers.MessageDetailSerializer)
    def get(self, request: Request, message_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        message = _message_or_404(roles, message_id)
        unread = UnreadMark.objects.filter(user=request.user, message=message).exists()
        context = {"roles": roles, "unread_ids": {str(message.pk)} if unread else set()}
        return Response(serializers.MessageDetailSerializer(message, context=context).data)

    @extend_schema(operation_id="messages_destroy", responses={204: None})
    def delete(self, request: Request, message_id: uuid.UUID) -> Response:
        """Delete a message for good (usually from the trash)."""
        roles = Roles.of(request.user)
        message = _message_or_404(roles, message_id)
        _require_thread_editor(roles, message.thread)
        flags.messages_delete(message_ids=[message.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageRawApi(APIView):
    @extend_schema(
        operation_id="messages_raw",
        responses={(200, "message/rfc822"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, message_id: uuid.UUID) -> HttpResponse:
        message = _message_or_404(Roles.of(request.user), message_id)
        if message.raw_blob_id is None:
            raise NotFound("This message has no raw source yet (a draft).")
        response = HttpResponse(blob_read(blob=message.raw_blob), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="{message.pk}.eml"'
        return response


# --- flags -------------------------------------------------------------------


class FlagsApi(APIView):
    @extend_schema(
        operation_id="flags_update",
        request=serializers.FlagRequestSerializer,
        responses=serializers.FlagResultSerializer,
    )
    def post(self, request: Request) -> Response:
        """Set one flag on messages, or on every message of threads."""
        data = validated(serializers.FlagRequestSerializer, request.data)
        roles = Roles.of(request.user)
        thread_ids = [str(t) for t in data["thread_ids"]]
        message_ids = [str(m) for m in data["message_ids"]]
        visible = selectors.messages_visible(roles=roles)
        targets = visible.filter(Q(id__in=message_ids) | Q(thread_id__in=thread_ids))
        rows = list(targets.values_list("id", "thread_id"))
        found_messages = {str(m) for m, _ in rows}
        found_threads = {str(t) for _, t in rows}
        if set(message_ids) - found_messages or set(thread_ids) - found_threads:
            raise NotFound("Some of these messages or threads do not exist.")
        if data["flag"] != "unread":  # read state is personal; the rest is the mailbox's
            editable = selectors.thread_ids_editable(roles=roles, thread_ids=list(found_threads))
            if found_threads - editable:
                raise PermissionDenied("Your role does not allow changing these messages.")
        updated = flags.messages_set_flag(
            user_id=request.user.pk,
            message_ids=[m for m, _ in rows],
            flag=data["flag"],
            value=data["value"],
        )
        return Response({"updated": updated})


# --- labels ------------------------------------------------------------------


def _label_or_404(roles: Roles, label_id: uuid.UUID) -> Label:
    label = selectors.labels_visible(roles=roles).filter(pk=label_id).first()
    if label is None:
        raise NotFound()
    return label


def _require_mailbox_editor(roles: Roles, mailbox_id: object) -> None:
    if not roles.can(mailbox_id, MailboxRole.EDITOR):
        raise PermissionDenied("Your role on this mailbox does not allow changes.")


class LabelListApi(APIView):
    @extend_schema(
        operation_id="labels_list",
        parameters=[OpenApiParameter("mailbox", OpenApiTypes.UUID, required=False)],
        responses=serializers.LabelSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.labels_visible(roles=Roles.of(request.user)).order_by(
            "mailbox", "name"
        )
        mailbox = request.query_params.get("mailbox")
        if mailbox:
            queryset = queryset.filter(mailbox_id=_uuid_param("mailbox", mailbox))
        return Response(serializers.LabelSerializer(queryset, many=True).data)

    @extend_schema(
        operation_id="labels_create",
        request=serializers.LabelCreateSerializer,
        responses={201: serializers.LabelSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.LabelCreateSerializer, request.data)
        roles = Roles.of(request.user)
        mailbox_id = data["mailbox"]
        if roles.on_mailbox(mailbox_id) is None:
            raise field_error("mailbox", "No such mailbox.")
        _require_mailbox_editor(roles, mailbox_id)
        label = labels.label_create(
            mailbox_id=mailbox_id, name=data["name"], color=data.get("color")
        )
        return Response(serializers.LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailApi(APIView):
    @extend_schema(
        operation_id="labels_update",
        request=serializers.LabelUpdateSerializer,
        responses=serializers.LabelSerializer,
    )
    def patch(self, request: Request, label_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        label = _label_or_404(roles, label_id)
        _require_mailbox_editor(roles, label.mailbox_id)
        data = validated(serializers.LabelUpdateSerializer, request.data)
        label = labels.label_update(label=label, name=data.get("name"), color=data.get("color"))
        return Response(serializers.LabelSerializer(label).data)

    @extend_schema(operation_id="labels_destroy", responses={204: None})
    def delete(self, request: Request, label_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        label = _label_or_404(roles, label_id)
        _require_mailbox_editor(roles, label.mailbox_id)
        labels.label_delete(label=label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _LabelThreadsView(APIView):
    """Shared checks of the views that put a label on threads or take it off."""

    def _prepare(self, request: Request, label_id: uuid.UUID) -> tuple[Label, list[str]]:
        roles = Roles.of(request.user)
        label = _label_or_404(roles, label_id)
        _require_mailbox_editor(roles, label.mailbox_id)
        data = validated(serializers.ThreadIdsSerializer, request.data)
        wanted = [str(t) for t in data["thread_ids"]]
        # The threads must be in the label's mailbox: owned by it or shared with it.
        in_mailbox = Thread.objects.filter(
            Q(mailbox_id=label.mailbox_id)
            | Q(
                id__in=ThreadAccess.objects.filter(mailbox_id=label.mailbox_id).values("thread_id")
            ),
            id__in=wanted,
        ).values_list("id", flat=True)
        found = {str(t) for t in in_mailbox}
        if set(wanted) - found:
            raise NotFound("Some of these threads are not in the label's mailbox.")
        return label, wanted


class LabelThreadsApi(_LabelThreadsView):
    """Put the label on threads."""

    @extend_schema(
        operation_id="labels_threads_add",
        request=serializers.ThreadIdsSerializer,
        responses=serializers.FlagResultSerializer,
    )
    def post(self, request: Request, label_id: uuid.UUID) -> Response:
        label, thread_ids = self._prepare(request, label_id)
        return Response({"updated": labels.label_add_threads(label=label, thread_ids=thread_ids)})


class LabelThreadsRemoveApi(_LabelThreadsView):
    """Take the label off threads (a POST: OpenAPI 3.0 gives a DELETE no body)."""

    @extend_schema(
        operation_id="labels_threads_remove",
        request=serializers.ThreadIdsSerializer,
        responses=serializers.FlagResultSerializer,
    )
    def post(self, request: Request, label_id: uuid.UUID) -> Response:
        label, thread_ids = self._prepare(request, label_id)
        removed = labels.label_remove_threads(label=label, thread_ids=thread_ids)
        return Response({"updated": removed})


# --- contacts ----------------------------------------------------------------


class ContactListApi(APIView):
    @extend_schema(
        operation_id="contacts_list",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Start of a name or address."),
            OpenApiParameter("mailbox", OpenApiTypes.UUID, required=False),
        ],
        responses=serializers.ContactSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """Autocomplete: the most used matching contacts of the caller's mailboxes."""
        roles = Roles.of(request.user)
        queryset = selectors.contacts_visible(roles=roles)
        mailbox = request.query_params.get("mailbox")
        if mailbox:
            queryset = queryset.filter(mailbox_id=_uuid_param("mailbox", mailbox))
        term = (request.query_params.get("q") or "").strip()
        if term:
            queryset = queryset.filter(
                Q(email__istartswith=term)
                | Q(name__istartswith=term)
                | Q(name__icontains=f" {term}")
            )
        queryset = queryset.order_by("-use_count", "-last_used_at")[:20]
        return Response(serializers.ContactSerializer(queryset, many=True).data)


# --- drafts ------------------------------------------------------------------


def _draft_fields(data: dict[str, Any]) -> drafts.DraftFields:
    return drafts.DraftFields(
        subject=data.get("subject"),
        text_body=data.get("text_body"),
        html_body=data.get("html_body"),
        to=data.get("to"),
        cc=data.get("cc"),
        bcc=data.get("bcc"),
        attachment_blob_ids=[str(b) for b in data["attachments"]]
        if "attachments" in data
        else None,
    )


def _draft_response(draft: Message, request: Request, code: int = 200) -> Response:
    draft = Message.objects.prefetch_related("recipients", "attachments").get(pk=draft.pk)
    data = serializers.MessageSerializer(draft, context={"roles": Roles.of(request.user)}).data
    return Response(data, status=code)


class DraftListApi(APIView):
    @extend_schema(
        operation_id="drafts_create",
        request=serializers.DraftWriteSerializer,
        responses={201: serializers.MessageSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.DraftWriteSerializer, request.data)
        if "mailbox" not in data:
            raise field_error("mailbox", "This field is required.")
        roles = Roles.of(request.user)
        if roles.on_mailbox(data["mailbox"]) is None:
            raise field_error("mailbox", "No such mailbox.")
        _require_mailbox_editor(roles, data["mailbox"])
        mailbox = Mailbox.objects.select_related("domain").get(pk=data["mailbox"])
        reply_to = None
        if "in_reply_to" in data:
            reply_to = (
                selectors.messages_visible(roles=roles).filter(pk=data["in_reply_to"]).first()
            )
            if reply_to is None:
                raise field_error("in_reply_to", "No such message.")
        draft = drafts.draft_create(mailbox=mailbox, fields=_draft_fields(data), reply_to=reply_to)
        return _draft_response(draft, request, status.HTTP_201_CREATED)


def _draft_or_404(roles: Roles, draft_id: uuid.UUID) -> Message:
    """A draft of one of the caller's mailboxes (drafts are never shared)."""
    draft = (
        Message.objects.select_related("mailbox__domain", "thread")
        .filter(pk=draft_id, is_draft=True, mailbox_id__in=roles.mailbox_ids)
        .first()
    )
    if draft is None:
        raise NotFound()
    return draft


class DraftDetailApi(APIView):
    def _draft(self, request: Request, draft_id: uuid.UUID) -> Message:
        roles = Roles.of(request.user)
        draft = _draft_or_404(roles, draft_id)
        _require_mailbox_editor(roles, draft.mailbox_id)
        return draft

    @extend_schema(
        operation_id="drafts_update",
        request=serializers.DraftWriteSerializer,
        responses=serializers.MessageSerializer,
    )
    def patch(self, request: Request, draft_id: uuid.UUID) -> Response:
        draft = self._draft(request, draft_id)
        data = validated(serializers.DraftWriteSerializer, request.data)
        draft = drafts.draft_update(draft=draft, fields=_draft_fields(data))
        return _draft_response(draft, request)

    @extend_schema(operation_id="drafts_destroy", responses={204: None})
    def delete(self, request: Request, draft_id: uuid.UUID) -> Response:
        drafts.draft_delete(draft=self._draft(request, draft_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- sending -----------------------------------------------------------------


def _require_mailbox_sender(roles: Roles, mailbox_id: object) -> None:
    if not roles.can(mailbox_id, MailboxRole.SENDER):
        raise PermissionDenied("Your role on this mailbox does not allow sending as it.")


class DraftSendApi(APIView):
    @extend_schema(
        operation_id="drafts_send",
        request=DraftSendSerializer,
        responses={202: serializers.MessageSerializer},
    )
    def post(self, request: Request, draft_id: uuid.UUID) -> Response:
        """Send a draft: it leaves when the undo window (or the scheduled ``send_at``) ends."""
        roles = Roles.of(request.user)
        draft = _draft_or_404(roles, draft_id)
        _require_mailbox_sender(roles, draft.mailbox_id)
        data = validated(DraftSendSerializer, request.data)
        try:
            message = sending.message_send_request(draft=draft, send_at=data.get("send_at"))
        except sending.MessageTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except sending.MailboxDisabled as exc:
            raise Conflict(str(exc)) from None
        return _draft_response(message, request, status.HTTP_202_ACCEPTED)


def _sent_message_or_404(roles: Roles, message_id: uuid.UUID) -> Message:
    """A message one of the caller's mailboxes sent (or is sending)."""
    message = Message.objects.filter(
        pk=message_id, is_sender=True, mailbox_id__in=roles.mailbox_ids
    ).first()
    if message is None:
        raise NotFound()
    return message


class MessageCancelSendApi(APIView):
    @extend_schema(
        operation_id="messages_cancel_send",
        request=None,
        responses={200: serializers.MessageSerializer},
    )
    def post(self, request: Request, message_id: uuid.UUID) -> Response:
        """Undo a send while its time has not come: the message is a draft again."""
        roles = Roles.of(request.user)
        message = _sent_message_or_404(roles, message_id)
        _require_mailbox_sender(roles, message.mailbox_id)
        try:
            message = sending.message_send_cancel(message=message)
        except sending.SendNotCancellable as exc:
            raise Conflict(str(exc)) from None
        return _draft_response(message, request)


class MessageRetrySendApi(APIView):
    @extend_schema(
        operation_id="messages_retry_send",
        request=None,
        responses={202: serializers.MessageSerializer},
    )
    def post(self, request: Request, message_id: uuid.UUID) -> Response:
        """Send again, now, to the recipients that failed or wait for a retry."""
        roles = Roles.of(request.user)
        message = _sent_message_or_404(roles, message_id)
        _require_mailbox_sender(roles, message.mailbox_id)
        try:
            message = sending.message_send_retry(message=message)
        except (sending.NothingToRetry, sending.MailboxDisabled) as exc:
            raise Conflict(str(exc)) from None
        return _draft_response(message, request, status.HTTP_202_ACCEPTED)


class OutboxApi(APIView):
    @extend_schema(
        operation_id="outbox_list",
        parameters=[
            OpenApiParameter("mailbox", OpenApiTypes.UUID, required=False),
        ],
        responses=serializers.MessageSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The caller's mail not yet delivered to every recipient (at most 200, newest
        first): each recipient's ``delivery_status``, the message's ``send_at``."""
        roles = Roles.of(request.user)
        mailbox_ids = roles.mailbox_ids
        mailbox = request.query_params.get("mailbox")
        if mailbox:
            wanted = str(_uuid_param("mailbox", mailbox))
            if not roles.on_mailbox(wanted):
                raise NotFound("No such mailbox.")
            mailbox_ids = [wanted]
        messages = selectors.outbox_messages(mailbox_ids=mailbox_ids)
        data = serializers.MessageSerializer(messages, many=True, context={"roles": roles}).data
        return Response(data)


def _uuid_param(name: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise field_error(name, "Must be a valid UUID.") from None
