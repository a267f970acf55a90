"""The internal API: what the MTA components (policy service, operator) ask the backend.

Authenticated by the shared service token only, never by a user's session. The app has no
models, so it is wired by its URL include alone (no INSTALLED_APPS entry needed).
"""
