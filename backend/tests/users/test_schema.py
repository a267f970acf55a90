"""The OpenAPI description of the session endpoints matches what they do."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_session_endpoints_in_the_schema() -> None:
    schema = _schema()
    paths = schema["paths"]
    ref = "#/components/schemas/User"

    login = paths["/api/v1.0/auth/login/"]["post"]
    assert login["operationId"] == "auth_login"
    body = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/LoginRequest"
    assert login["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == ref
    assert {"400", "403", "404", "429"} <= set(login["responses"])

    logout = paths["/api/v1.0/auth/logout/"]["post"]
    assert "requestBody" not in logout
    assert "content" not in logout["responses"]["204"]
    logout_ref = logout["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert logout_ref == "#/components/schemas/Logout"

    csrf = paths["/api/v1.0/auth/csrf/"]["get"]
    assert csrf["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/Csrf"
    )
    assert csrf.get("security", []) in ([], [{}])

    me = paths["/api/v1.0/users/me/"]
    assert me["get"]["security"] == [{"cookieAuth": []}]
    patch_body = me["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert patch_body == "#/components/schemas/PatchedUserUpdateRequest"

    components = schema["components"]
    user = components["schemas"]["User"]
    assert set(user["properties"]) == {"id", "email", "full_name", "language", "is_staff", "auth"}
    assert set(user["required"]) == set(user["properties"])
    assert components["securitySchemes"]["cookieAuth"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
    }
