from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "facteur.ingest"
    label = "ingest"

    def ready(self) -> None:
        from facteur.ingest.recipients import connect_signals

        connect_signals()
