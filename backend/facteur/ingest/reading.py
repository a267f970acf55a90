"""What a parser tier hands over: headers, addresses and the MIME tree, not yet checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from facteur.ingest.mime import Part
from facteur.ingest.problems import Problems

# (display name or None, address) as the parser found them; parse.py validates them.
Address = tuple[str | None, str]


@dataclass
class Reading:
    pairs: list[tuple[str, str]]  # every header, decoded, in wire order
    sender: Address | None
    # "to", "cc", "bcc", "reply_to" -> addresses
    people: dict[str, list[Address]]
    sent_at: datetime | None
    root: Part | None  # None: the body could not be read at all
    problems: Problems = field(default_factory=Problems)
