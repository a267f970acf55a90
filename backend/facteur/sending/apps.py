from django.apps import AppConfig


class SendingConfig(AppConfig):
    """Outbound mail: composing, DKIM signing, the send task (no models of its own)."""

    name = "facteur.sending"
    label = "sending"
