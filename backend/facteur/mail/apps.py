from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "facteur.mail"
    label = "mail"
