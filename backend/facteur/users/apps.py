from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "facteur.users"
    label = "users"
