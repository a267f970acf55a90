"""The Django admin of users: e-mail as login, no username."""

from __future__ import annotations

import pytest
from django.test import Client

from facteur.users.models import User
from facteur.users.services import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    admin = user_create(email="root@example.test", password="correct-horse-battery", is_staff=True)
    client = Client()
    client.force_login(admin)
    return client


def test_changelist_search_and_change_page(admin_client_: Client) -> None:
    person = user_create(email="someone@example.test", full_name="Some One")
    User.objects.filter(pk=person.pk).update(sub="sub-123")
    response = admin_client_.get("/admin/users/user/", {"q": "sub-123"})
    assert response.status_code == 200
    assert [user.email for user in response.context["cl"].result_list] == ["someone@example.test"]
    assert "someone@example.test" in response.content.decode()
    assert admin_client_.get(f"/admin/users/user/{person.pk}/change/").status_code == 200


def test_add_user_with_and_without_password(admin_client_: Client) -> None:
    assert admin_client_.get("/admin/users/user/add/").status_code == 200
    response = admin_client_.post(
        "/admin/users/user/add/",
        {
            "email": "New.Person@Example.TEST",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(email="new.person@example.test")
    assert created.check_password("a-long-enough-passphrase")

    response = admin_client_.post(
        "/admin/users/user/add/",
        {"email": "oidc.only@example.test", "full_name": "", "usable_password": "false"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not User.objects.get(email="oidc.only@example.test").has_usable_password()


def test_change_form_edits_profile_and_clears_sub(admin_client_: Client) -> None:
    person = user_create(email="edit.me@example.test")
    User.objects.filter(pk=person.pk).update(sub="old-sub")
    response = admin_client_.post(
        f"/admin/users/user/{person.pk}/change/",
        {
            "email": "Edited@Example.TEST",
            "full_name": "Edited",
            "language": "fr",
            "sub": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    person.refresh_from_db()
    assert (person.email, person.full_name, person.language, person.sub) == (
        "edited@example.test",
        "Edited",
        "fr",
        None,
    )
