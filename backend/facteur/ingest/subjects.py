"""Subjects as threads see them: reply and forward prefixes off, and a key to compare them.

Pure functions, no database.
"""

from __future__ import annotations

import re

# Re:, RE :, Fwd:, FW:, TR: (French), Réf:, AW:/WG: (German), SV:/VS: (Nordic), Antw:,
# R:/RIF: (Italian), ODP: (Polish), ENC:/RES: (Portuguese), with counters like Re[2]: or Re(2):
# and a full-width colon.
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|tr|r[ée]f|r[ée]p|aw|wg|sv|vs|antw|r|rif|odp|enc|res|fs)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
# "[ext]", "[SPAM]", "[list-name]": tags that gateways and lists add in front.
_TAG = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
_SPACES = re.compile(r"\s+")
# Subjects too common to say two messages belong together.
GENERIC = {
    "", "hi", "hello", "hey", "bonjour", "salut", "coucou", "test", "testing", "question",
    "questions", "info", "information", "informations", "urgent", "help", "meeting", "update",
    "thanks", "thank you", "merci", "no subject", "(no subject)", "sans objet", "(sans objet)",
    "document", "documents", "photo", "photos", "fyi", "invoice", "facture", "rappel",
    "reminder", "demande", "request", "contact", "message", "suivi", "follow up", "follow-up",
}  # fmt: skip
# Shorter keys ("ok", "re") say nothing either.
MIN_KEY_LENGTH = 4


def strip_prefixes(subject: str) -> str:
    """The subject without its reply/forward prefixes, whitespace collapsed (for display)."""
    text = _SPACES.sub(" ", subject).strip()
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def has_reply_prefix(subject: str) -> bool:
    return bool(_PREFIX.match(_TAG.sub("", subject)))


def subject_core(subject: str) -> str:
    """The subject without prefixes and leading tags, whitespace collapsed, case kept."""
    text = _SPACES.sub(" ", subject).strip()
    while True:
        stripped = _TAG.sub("", _PREFIX.sub("", text, count=1), count=1)
        if stripped == text:
            return text
        text = stripped


def subject_key(subject: str) -> str:
    """What two subjects of one conversation share, or "" when it is too generic to match on."""
    key = subject_core(subject).casefold()
    if len(key) < MIN_KEY_LENGTH or key in GENERIC:
        return ""
    return key
