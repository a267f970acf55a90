from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "facteur.ops"
    label = "ops"
