from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "facteur.domains"
    label = "domains"
