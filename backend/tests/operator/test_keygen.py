"""DKIM keys are made off the event loop by threads that yield the CPU (niced): in a
burst of new domains the reconciles of everything else go first."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from facteur_operator.handlers import KEYGEN


def priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_key_generation_runs_niced_and_the_event_loop_does_not() -> None:
    before = priority()
    assert KEYGEN.submit(priority).result(timeout=10) == max(before, 10)
    assert priority() == before
