"""REST endpoints: the caller's mailboxes, their accesses, and domain administration."""

from __future__ import annotations

import uuid

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facteur.api.validation import field_error, validated
from facteur.domains import selectors, serializers, services
from facteur.domains.models import Mailbox, MailboxAccess, MailDomain
from facteur.mail.models import Message, UnreadMark
from facteur.mail.selectors import Roles
from facteur.users.models import User


def _with_counts(queryset, user: User):  # type: ignore[no-untyped-def]
    # Counts leave out trash and spam, as a mail client's folder list does.
    unread = (
        UnreadMark.objects.filter(user=user, mailbox=OuterRef("pk"), is_counted=True)
        .order_by()
        .values("mailbox")
        .annotate(n=Count("*"))
        .values("n")
    )
    total = (
        Message.objects.filter(
            mailbox=OuterRef("pk"), is_trashed=False, is_spam=False, is_draft=False
        )
        .order_by()
        .values("mailbox")
        .annotate(n=Count("*"))
        .values("n")
    )
    return queryset.annotate(
        unread_count=Coalesce(Subquery(unread), 0), total_count=Coalesce(Subquery(total), 0)
    ).prefetch_related("aliases__domain")


class MailboxListApi(APIView):
    @extend_schema(
        operation_id="mailboxes_list", responses=serializers.MailboxSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """The mailboxes the caller has an access to, with unread and total counts."""
        roles = Roles.of(request.user)
        mailboxes = _with_counts(selectors.mailboxes_for_user(user=request.user), request.user)
        data = serializers.MailboxSerializer(mailboxes, many=True, context={"roles": roles}).data
        return Response(data)


class MailboxDetailApi(APIView):
    @extend_schema(operation_id="mailboxes_retrieve", responses=serializers.MailboxSerializer)
    def get(self, request: Request, mailbox_id: uuid.UUID) -> Response:
        roles = Roles.of(request.user)
        queryset = selectors.mailboxes_for_user(user=request.user).filter(pk=mailbox_id)
        mailbox = _with_counts(queryset, request.user).first()
        if mailbox is None:
            raise NotFound()
        return Response(serializers.MailboxSerializer(mailbox, context={"roles": roles}).data)


def _mailbox_for_access_management(
    request: Request, mailbox_id: uuid.UUID, *, write: bool
) -> Mailbox:
    """Members may list who has access; mailbox admins and domain admins may change it."""
    mailbox = Mailbox.objects.select_related("domain").filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound()
    manages = selectors.mailboxes_manageable_by(user=request.user).filter(pk=mailbox.pk).exists()
    is_member = selectors.mailbox_role(user=request.user, mailbox_id=mailbox.pk) is not None
    if not (manages or is_member):
        raise NotFound()
    if write and not manages:
        raise PermissionDenied("Only the mailbox's admins and its domain's admins manage access.")
    if write and mailbox.managed:
        raise PermissionDenied("This mailbox is managed by the operator; change its resource.")
    return mailbox


class MailboxAccessListApi(APIView):
    @extend_schema(
        operation_id="mailboxes_accesses_list",
        responses=serializers.MailboxAccessSerializer(many=True),
    )
    def get(self, request: Request, mailbox_id: uuid.UUID) -> Response:
        mailbox = _mailbox_for_access_management(request, mailbox_id, write=False)
        accesses = mailbox.accesses.select_related("user").order_by("created_at")
        return Response(serializers.MailboxAccessSerializer(accesses, many=True).data)

    @extend_schema(
        operation_id="mailboxes_accesses_create",
        request=serializers.MailboxAccessCreateSerializer,
        responses={201: serializers.MailboxAccessSerializer},
    )
    def post(self, request: Request, mailbox_id: uuid.UUID) -> Response:
        mailbox = _mailbox_for_access_management(request, mailbox_id, write=True)
        data = validated(serializers.MailboxAccessCreateSerializer, request.data)
        user = User.objects.filter(email=data["user"].lower(), is_active=True).first()
        if user is None:
            raise field_error("user", "No user has this e-mail address.")
        if MailboxAccess.objects.filter(mailbox=mailbox, user=user).exists():
            raise field_error("user", "This user already has an access; change its role.")
        access = services.access_grant(mailbox=mailbox, user=user, role=data["role"])
        return Response(
            serializers.MailboxAccessSerializer(access).data, status=status.HTTP_201_CREATED
        )


class MailboxAccessDetailApi(APIView):
    def _access(self, request: Request, mailbox_id: uuid.UUID, access_id: uuid.UUID):  # type: ignore[no-untyped-def]
        mailbox = _mailbox_for_access_management(request, mailbox_id, write=True)
        access = mailbox.accesses.select_related("user", "mailbox__domain").filter(pk=access_id)
        found = access.first()
        if found is None:
            raise NotFound()
        return found

    @extend_schema(
        operation_id="mailboxes_accesses_update",
        request=serializers.MailboxAccessUpdateSerializer,
        responses=serializers.MailboxAccessSerializer,
    )
    def patch(self, request: Request, mailbox_id: uuid.UUID, access_id: uuid.UUID) -> Response:
        access = self._access(request, mailbox_id, access_id)
        data = validated(serializers.MailboxAccessUpdateSerializer, request.data)
        access = services.access_update(access=access, role=data["role"])
        return Response(serializers.MailboxAccessSerializer(access).data)

    @extend_schema(operation_id="mailboxes_accesses_destroy", responses={204: None})
    def delete(self, request: Request, mailbox_id: uuid.UUID, access_id: uuid.UUID) -> Response:
        services.access_revoke(access=self._access(request, mailbox_id, access_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- domain administration ---------------------------------------------------


def _administered_domain(request: Request, domain_id: uuid.UUID) -> MailDomain:
    domain = selectors.domains_administered(user=request.user).filter(pk=domain_id).first()
    if domain is None:
        raise NotFound()
    return domain


class MailDomainListApi(APIView):
    @extend_schema(
        operation_id="maildomains_list", responses=serializers.MailDomainSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """The domains the caller administers."""
        domains = selectors.domains_administered(user=request.user).annotate(
            mailbox_count=Count("mailboxes")
        )
        return Response(serializers.MailDomainSerializer(domains, many=True).data)


class MailDomainDetailApi(APIView):
    @extend_schema(operation_id="maildomains_retrieve", responses=serializers.MailDomainSerializer)
    def get(self, request: Request, domain_id: uuid.UUID) -> Response:
        domain = _administered_domain(request, domain_id)
        domain.mailbox_count = domain.mailboxes.count()
        return Response(serializers.MailDomainSerializer(domain).data)


class MailDomainMailboxesApi(APIView):
    @extend_schema(
        operation_id="maildomains_mailboxes_list",
        responses=serializers.MailboxSerializer(many=True),
    )
    def get(self, request: Request, domain_id: uuid.UUID) -> Response:
        domain = _administered_domain(request, domain_id)
        mailboxes = (
            domain.mailboxes.select_related("domain")
            .prefetch_related("aliases__domain")
            .order_by("local_part")
        )
        roles = Roles.of(request.user)
        data = serializers.MailboxSerializer(mailboxes, many=True, context={"roles": roles}).data
        return Response(data)

    @extend_schema(
        operation_id="maildomains_mailboxes_create",
        request=serializers.MailboxCreateSerializer,
        responses={201: serializers.MailboxSerializer},
    )
    def post(self, request: Request, domain_id: uuid.UUID) -> Response:
        domain = _administered_domain(request, domain_id)
        if domain.managed:
            raise PermissionDenied("This domain is managed by the operator; add Mailbox resources.")
        data = validated(serializers.MailboxCreateSerializer, request.data)
        mailbox = services.mailbox_create(
            domain=domain,
            local_part=data["local_part"],
            kind=data["kind"],
            display_name=data["display_name"],
        )
        mailbox = Mailbox.objects.select_related("domain").get(pk=mailbox.pk)
        return Response(
            serializers.MailboxSerializer(mailbox, context={"roles": Roles.of(request.user)}).data,
            status=status.HTTP_201_CREATED,
        )
