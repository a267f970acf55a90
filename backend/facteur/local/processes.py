"""Child processes of the single-machine runner: start, stream their output, stop.

Each child runs in its own session, so a Ctrl-C in the terminal reaches the runner
only and the runner stops the children in order. On Linux each child also gets
SIGTERM if the runner itself dies (PR_SET_PDEATHSIG), so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of the suite."""

    name: str  # the prefix of its output lines
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the runner's environment


_COLORS = ("36", "35", "33", "32", "34", "31")


class Child:
    def __init__(self, spec: ProcessSpec, popen: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.popen = popen
        self.reader: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def signal_group(self, signum: int) -> None:
        """Signal the child and anything it started (its session's process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


class Supervisor:
    """Starts children, prefixes their output lines, and stops them all."""

    def __init__(self, out: TextIO | None = None, *, stop_timeout: float = 20.0) -> None:
        self.out = out or sys.stdout
        self.stop_timeout = stop_timeout
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._color = self.out.isatty() and not os.environ.get("NO_COLOR")
        self._colors: dict[str, str] = {}
        self._width = 6

    def write(self, name: str, line: str) -> None:
        prefix = name.rjust(self._width)
        if self._color:
            color = self._colors.setdefault(name, _COLORS[len(self._colors) % len(_COLORS)])
            prefix = f"\033[{color}m{prefix}\033[0m"
        with self._lock:
            self.out.write(f"{prefix} | {line}\n")
            self.out.flush()

    def start(self, spec: ProcessSpec) -> Child:
        self._width = max(self._width, len(spec.name))
        popen = subprocess.Popen(  # noqa: S603 - our own executables, no shell
            spec.argv,
            env={**os.environ, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if _libc is not None else None,
        )
        child = Child(spec, popen)
        self.children.append(child)
        child.reader = threading.Thread(
            target=self._pump, args=(child,), name=f"output-{spec.name}", daemon=True
        )
        child.reader.start()
        return child

    def _pump(self, child: Child) -> None:
        assert child.popen.stdout is not None
        for raw in iter(child.popen.stdout.readline, b""):
            self.write(child.name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        child.popen.stdout.close()

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if child.exited()), None)

    def stop_all(self, *, force: Callable[[], bool] = lambda: False) -> None:
        """SIGTERM every child, wait up to ``stop_timeout``, then SIGKILL what is left.

        ``force`` is polled while waiting: when it turns true (a second Ctrl-C), the
        rest is killed at once.
        """
        running = [child for child in self.children if not child.exited()]
        for child in running:
            # The main process only: gunicorn and Celery stop their own workers.
            with contextlib.suppress(ProcessLookupError):
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while any(not child.exited() for child in running):
            if time.monotonic() >= deadline or force():
                break
            time.sleep(0.1)
        for child in running:
            if not child.exited():
                self.write(child.name, "did not stop in time: killed")
                # Its own workers too: they share its process group.
                child.signal_group(signal.SIGKILL)
                child.popen.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=5)
