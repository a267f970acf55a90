from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "facteur.search"
    label = "search"
    default_auto_field = "django.db.models.BigAutoField"
