from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import World


def test_healthz_needs_nothing():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_redis():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_says_which_dependency_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")
    assert response.json()["checks"]["database"] == "ok"


def test_metrics_count_requests_by_view_not_by_path(world: World):
    client = world.client("viewer")
    client.get(f"/api/v1.0/threads/{world.thread.pk}/")
    body = Client().get("/metrics").content.decode()
    assert 'facteur_http_requests_total{method="GET",status="200",view="threads-detail"}' in body
    assert str(world.thread.pk) not in body
    assert "facteur_http_request_duration_seconds_bucket" in body
