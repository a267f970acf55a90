from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "facteur.cli"
    label = "cli"
