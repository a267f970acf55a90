"""Short previews of message bodies for thread lists."""

import re

_SPACES = re.compile(r"\s+")
SNIPPET_LENGTH = 200


def snippet_from_text(text: str) -> str:
    return _SPACES.sub(" ", text[: SNIPPET_LENGTH * 4]).strip()[:SNIPPET_LENGTH]
