"""Settings for the test suite: the real settings, with embedded PostgreSQL and Redis
started when DATABASE_URL / REDIS_URL are not set."""

import os
import tempfile
from pathlib import Path

from facteur.local.embedded import ensure_services

os.environ.setdefault("FACTEUR_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("FACTEUR_SECURE_COOKIES", "false")
_var = Path(os.environ.get("FACTEUR_TEST_VAR_DIR") or Path(tempfile.gettempdir()) / "facteur-test")
ensure_services(_var)

from facteur.config.settings import *  # noqa: E402,F403

# Hashing with Argon2 is deliberately slow; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Several test runs may share one PostgreSQL and Redis (a developer's and CI's):
# keep each run's database, cache keys and task queue apart.
_run = f"{os.getpid()}"
DATABASES["default"]["TEST"] = {"NAME": f"test_facteur_{_run}"}  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = f"facteur-test-{_run}"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"facteur-test-{_run}"

# WhiteNoise serves STATIC_ROOT and warns when it is missing; tests need no collectstatic.
STATIC_ROOT = str(_var / "static")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
