from django.urls import path

from facteur.users import apis

urlpatterns = [
    path("auth/config/", apis.AuthConfigApi.as_view(), name="auth-config"),
    path("auth/csrf/", apis.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("users/me/", apis.MeApi.as_view(), name="users-me"),
]
