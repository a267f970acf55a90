"""Facteur backend: Django + DRF + Celery."""

from facteur.config.celery import app as celery_app

__all__ = ["celery_app"]
