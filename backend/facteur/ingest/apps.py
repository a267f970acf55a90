from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "facteur.ingest"
    label = "ingest"
