"""What a parse had to repair, and whether any of it makes the message malformed."""

from __future__ import annotations

# A hostile message could produce thousands of notes; the raw message says the rest.
MAX_NOTES = 30


class Problems:
    """Human-readable notes in the order found; ``defect`` ones make the message malformed.

    A repair is something the reader will not notice (a guessed charset, a
    missing Date); a defect means content may be missing or wrong, so the
    webmail offers the raw source.
    """

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.malformed = False
        self._dropped = 0

    def repair(self, note: str) -> None:
        self._add(note)

    def defect(self, note: str) -> None:
        self.malformed = True
        self._add(note)

    def _add(self, note: str) -> None:
        if note in self.notes:
            return
        if len(self.notes) < MAX_NOTES:
            self.notes.append(note)
        else:
            self._dropped += 1

    def as_list(self) -> list[str]:
        if self._dropped:
            return [*self.notes, f"... and {self._dropped} more"]
        return list(self.notes)
