"""The runner's supervisor, with small real child processes."""

from __future__ import annotations

import io
import sys
import time

import psutil

from facteur.local.processes import ProcessSpec, Supervisor


def _python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_output_is_prefixed_with_the_process_name():
    out = io.StringIO()
    supervisor = Supervisor(out)
    child = supervisor.start(
        ProcessSpec("echo", _python("import os; print('hello'); print(os.environ['EXTRA'])"),
                    env={"EXTRA": "from the spec"})
    )  # fmt: skip

    assert _wait(child.exited)
    supervisor.stop_all()

    assert out.getvalue().splitlines() == ["  echo | hello", "  echo | from the spec"]


def test_a_child_that_exits_on_its_own_is_noticed():
    supervisor = Supervisor(io.StringIO())
    supervisor.start(ProcessSpec("sleeper", _python("import time; time.sleep(30)")))
    quitter = supervisor.start(ProcessSpec("quitter", _python("raise SystemExit(3)")))

    assert _wait(lambda: supervisor.first_exited() is not None)
    assert supervisor.first_exited() is quitter
    assert quitter.popen.returncode == 3
    supervisor.stop_all()
    assert all(child.exited() for child in supervisor.children)


def test_stop_terminates_then_kills_what_ignores_sigterm():
    out = io.StringIO()
    supervisor = Supervisor(out, stop_timeout=1.0)
    polite = supervisor.start(ProcessSpec("polite", _python("import time; time.sleep(30)")))
    stubborn_code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        # A grandchild in the same process group must go too.
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    stubborn = supervisor.start(ProcessSpec("stubborn", _python(stubborn_code)))
    assert _wait(lambda: "ready" in out.getvalue())
    grandchildren = psutil.Process(stubborn.pid).children(recursive=True)
    assert grandchildren

    started = time.monotonic()
    supervisor.stop_all()

    assert time.monotonic() - started < 5
    assert polite.popen.returncode == -15  # SIGTERM
    assert stubborn.popen.returncode == -9  # SIGKILL after the timeout
    assert "stubborn | did not stop in time: killed" in out.getvalue()
    assert _wait(lambda: not any(p.is_running() and p.status() != "zombie" for p in grandchildren))
