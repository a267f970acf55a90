from django.apps import AppConfig


class BlobsConfig(AppConfig):
    name = "facteur.blobs"
    label = "blobs"
