"""Django project configuration: settings, URLs, Celery app, WSGI entry point."""
