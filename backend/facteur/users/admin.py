"""Django admin for the custom User: e-mail as login, no username, optional OIDC subject."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms

from facteur.users.models import User
from facteur.users.services import LANGUAGES


def _clean_email(form: forms.ModelForm) -> str:
    return form.cleaned_data["email"].strip().lower()


class UserCreationForm(auth_forms.AdminUserCreationForm):
    """E-mail, name and a password (or none: an account that only logs in through OIDC)."""

    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        return _clean_email(self)


class UserChangeForm(auth_forms.UserChangeForm):
    language = forms.ChoiceField(choices=list(LANGUAGES.items()))

    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return _clean_email(self)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "language")}),
        (
            "OIDC",
            {
                "fields": ("sub",),
                "description": "The identity provider's subject for this person, set at their "
                "first OIDC login. Empty for local accounts; clearing it lets the next OIDC "
                "login with this verified e-mail address link the account again.",
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "created_at")
    list_display = ("email", "full_name", "login_method", "is_staff", "is_active", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name", "sub")
    ordering = ("email",)
    filter_horizontal = ("groups", "user_permissions")

    @admin.display(description="login", ordering="sub")
    def login_method(self, user: User) -> str:
        return "OIDC" if user.sub else "local"
