from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from facteur.users.models import User
from facteur.users.selectors import user_auth_method
from facteur.users.services import FULL_NAME_MAX_LENGTH, LANGUAGES


class UserSerializer(serializers.ModelSerializer):
    """The current user, as /users/me/ and /auth/login/ return it."""

    language = serializers.ChoiceField(choices=list(LANGUAGES.items()), read_only=True)
    auth = serializers.SerializerMethodField(
        help_text="How this session was opened: by the OIDC provider or a local password."
    )

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "language", "is_staff", "auth"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["oidc", "local"]))
    def get_auth(self, user: User) -> str:
        return user_auth_method(request=self.context["request"])


class UserUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(
        max_length=FULL_NAME_MAX_LENGTH, allow_blank=True, required=False
    )
    language = serializers.ChoiceField(choices=list(LANGUAGES.items()), required=False)


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    # Long enough for any passphrase, short enough not to hash megabytes.
    password = serializers.CharField(
        max_length=1024, trim_whitespace=False, style={"input_type": "password"}
    )


class LogoutSerializer(serializers.Serializer):
    redirect = serializers.URLField(
        help_text="The provider's logout page: send the browser there to end the OIDC session."
    )


class CsrfSerializer(serializers.Serializer):
    csrf_token = serializers.CharField(
        help_text="Send it back in the X-CSRFToken header of unsafe requests (also set as the "
        "csrftoken cookie)."
    )


class AuthConfigSerializer(serializers.Serializer):
    local_accounts = serializers.BooleanField(help_text="POST /auth/login/ is available.")
    oidc = serializers.BooleanField(help_text="Login through the OIDC provider is available.")
    oidc_login_url = serializers.CharField(
        allow_null=True,
        help_text="Where to send the browser to log in with OIDC (add ?next=/path to come back).",
    )
