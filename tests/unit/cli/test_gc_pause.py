"""The garbage collector is paused while a command starts, and comes back for one that keeps running.

Each case runs in a fresh interpreter: the test process itself imported the command line long ago.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from orchestrator.isolated import CODE_ROOT


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys\nsys.path.insert(0, {CODE_ROOT!r})\n" + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_importing_the_command_line_pauses_the_collector_then_a_timer_resumes_it() -> None:
    res = _run("""
        import gc, os, time
        import orchestrator.cli
        from orchestrator.cli import gc_pause
        print("paused", not gc.isenabled())
        pid = os.fork()
        if pid == 0:  # a child forked meanwhile keeps it off: it execs soon, or freezes first (a monitor)
            os._exit(0 if not gc.isenabled() else 1)
        print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0)
        deadline = time.monotonic() + gc_pause.RESUME_AFTER + 10
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.05)
        print("resumed", gc.isenabled())
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["paused", "True", "child", "True", "resumed", "True"]


def test_a_collector_someone_else_turned_off_is_left_to_them() -> None:
    res = _run("""
        import gc, threading
        gc.disable()
        import orchestrator.cli
        print("timer", any(t.name == "gc-resume" for t in threading.enumerate()))
        print("enabled", gc.isenabled())
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["timer", "False", "enabled", "False"]
