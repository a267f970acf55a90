"""Internal endpoints for the MTA: does a recipient address exist?"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facteur.domains.selectors import mailbox_for_address
from facteur.internal.authentication import ServiceTokenAuthentication, service_token
from facteur.internal.throttling import MtaApiThrottle


class InternalApi(APIView):
    """Base of the internal views: 404 when disabled, throttled before authentication."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [IsAuthenticated]
    # Checked by hand in ``initial`` so that failed token attempts count too.
    throttle_classes: list = []
    throttle_class = MtaApiThrottle

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        # Without a configured token the internal API does not exist (404), rather than
        # existing and refusing everyone: nothing to probe on a deployment without MTAs.
        if not service_token():
            raise exceptions.NotFound()
        throttle = self.throttle_class()
        if not throttle.allow_request(request, self):
            raise exceptions.Throttled(throttle.wait())
        super().initial(request, *args, **kwargs)


# Internal, not part of the webmail's client: kept out of the public OpenAPI schema.
@extend_schema(exclude=True)
class MtaRecipientApi(InternalApi):
    def get(self, request: Request, address: str) -> Response:
        mailbox = mailbox_for_address(address)
        return Response(
            {
                "address": address,
                "exists": mailbox is not None,
                "mailbox": str(mailbox.pk) if mailbox is not None else None,
                # It exists but takes no mail: the policy service refuses it as such.
                "disabled": mailbox is not None and not mailbox.accepts_mail,
            }
        )
