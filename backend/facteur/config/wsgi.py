import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facteur.config.settings")
application = get_wsgi_application()

# Load every view module now, then move all these long-lived objects out of the
# garbage collector's sight: full collections otherwise walk them every few dozen
# requests and stall a request for 60-160 ms (bench/api.py showed it in p99).
get_resolver().url_patterns  # noqa: B018
gc.collect()
gc.freeze()
