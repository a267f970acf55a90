"""Session endpoints (CSRF, local login, logout) and the current user."""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facteur.users.authentication import SessionAuthentication, enforce_csrf
from facteur.users.serializers import (
    AuthConfigSerializer,
    CsrfSerializer,
    LoginSerializer,
    LogoutSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from facteur.users.services import (
    InvalidCredentials,
    LoginThrottled,
    user_login,
    user_logout,
    user_update,
)

TAGS = ["auth"]


class InvalidLogin(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Unknown e-mail address or wrong password."
    default_code = "invalid_credentials"


class AuthConfigApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_config",
        summary="Which login methods this server offers",
        responses=AuthConfigSerializer,
    )
    def get(self, request: Request) -> Response:
        oidc = bool(settings.OIDC_ENABLED)
        data = {
            "local_accounts": bool(settings.FACTEUR_LOCAL_ACCOUNTS),
            "oidc": oidc,
            "oidc_login_url": reverse("oidc_authentication_init") if oidc else None,
        }
        return Response(AuthConfigSerializer(data).data)


class CsrfApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_csrf",
        summary="Get a CSRF token (also set as the csrftoken cookie)",
        responses=CsrfSerializer,
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response(CsrfSerializer({"csrf_token": get_token(request)}).data)


class LoginApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        if not settings.FACTEUR_LOCAL_ACCOUNTS:
            raise exceptions.NotFound("Local accounts are disabled.")
        super().initial(request, *args, **kwargs)
        if not request.user.is_authenticated:  # authenticated sessions were checked already
            enforce_csrf(request)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_login",
        summary="Log in with a local account (CSRF token required)",
        request=LoginSerializer,
        responses={
            200: UserSerializer,
            400: OpenApiResponse(description="Invalid input, or unknown e-mail/wrong password."),
            403: OpenApiResponse(description="Missing or wrong CSRF token."),
            404: OpenApiResponse(description="Local accounts are disabled."),
            429: OpenApiResponse(description="Too many failed attempts; see Retry-After."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = user_login(request=request._request, **serializer.validated_data)
        except LoginThrottled as exc:
            raise exceptions.Throttled(
                wait=exc.retry_after, detail="Too many failed logins; try again later."
            ) from exc
        except InvalidCredentials as exc:
            raise InvalidLogin() from exc
        # The request's user is still the anonymous one DRF resolved before the login.
        request.user = user
        return Response(UserSerializer(user, context={"request": request}).data)


class LogoutApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_logout",
        summary="Log out (CSRF token required when logged in)",
        request=None,
        responses={
            200: OpenApiResponse(
                LogoutSerializer,
                description="Logged out of Facteur; the OIDC provider's session is still open: "
                "send the browser to `redirect` to end it.",
            ),
            204: OpenApiResponse(description="Logged out (or was not logged in)."),
        },
    )
    def post(self, request: Request) -> Response:
        redirect = user_logout(request=request._request)
        if redirect:
            return Response(LogoutSerializer({"redirect": redirect}).data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        tags=["users"],
        operation_id="users_me_retrieve",
        summary="The current user",
        responses=UserSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        tags=["users"],
        operation_id="users_me_partial_update",
        summary="Change the current user's name or language",
        request=UserUpdateSerializer,
        responses=UserSerializer,
    )
    def patch(self, request: Request) -> Response:
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_update(user=request.user, **serializer.validated_data)
        return Response(UserSerializer(user, context={"request": request}).data)
