"""Polling for what another process or thread does (a worker, a server, Postfix)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> object:
    """``condition()``'s first true value, polled; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true after {timeout} s: {condition.__doc__ or condition}")
