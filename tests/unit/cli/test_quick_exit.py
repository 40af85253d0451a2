"""A command ends without the interpreter's teardown, yet everything a normal exit does that anyone
can see still happens: threads joined, exit hooks run, output flushed, the same exit status.

Each case runs in a fresh interpreter, since the exit ends the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from orchestrator.isolated import CODE_ROOT


def _script(body: str) -> str:
    return (f"import sys\nsys.path.insert(0, {CODE_ROOT!r})\n"
            "from orchestrator.cli.quick_exit import exit_process\n" + textwrap.dedent(body))


# without PYTHONUNBUFFERED and the like, which change what there is to flush at exit
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _script(body)], capture_output=True, text=True, timeout=60, env=ENV)


def test_threads_are_joined_exit_hooks_run_and_buffered_output_is_flushed() -> None:
    res = _run("""
        import atexit, threading, time
        from concurrent.futures import ThreadPoolExecutor
        atexit.register(lambda: print("atexit ran", flush=False))
        t = threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", flush=False)))
        t.start()
        pool = ThreadPoolExecutor(1)  # never shut down: threading's exit hook waits for its work
        pool.submit(lambda: (time.sleep(0.3), print("pool task done", flush=False)))
        sys.stdout.write("no newline yet")
        exit_process(None)
        print("not reached")
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("no newline yet")
    assert sorted(res.stdout.removeprefix("no newline yet").split("\n")[:-1]) == [
        "atexit ran", "pool task done", "thread done"]
    assert res.stdout.endswith("\n") and "not reached" not in res.stdout


@pytest.mark.parametrize(("code", "status", "stderr"), [
    ("0", 0, ""), ("3", 3, ""), ("None", 0, ""), ("True", 1, ""), ("-1", 255, ""), ("'bad input'", 1, "bad input\n"),
])
def test_the_exit_status_is_the_one_sys_exit_gives(code: str, status: int, stderr: str) -> None:
    res = _run(f"exit_process({code})")
    plain = subprocess.run([sys.executable, "-c", f"import sys; sys.exit({code})"], capture_output=True, text=True,
                           timeout=60, env=ENV)
    assert (res.returncode, res.stderr) == (plain.returncode, plain.stderr) == (status, stderr)


def test_a_reader_that_went_away_gets_status_120_like_the_interpreter_gives() -> None:
    # the output stays in the buffer until the exit flushes it, after the reader has gone
    body = "sys.stdin.read()\nsys.stdout.write('x' * 100)\n"
    for tail in ("exit_process(0)\n", "sys.exit(0)\n"):
        proc = subprocess.Popen([sys.executable, "-c", _script(body + tail)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdout.close()
        proc.stdin.close()
        assert proc.wait(timeout=60) == 120, tail


def test_the_pystack_entry_point_exits_with_the_command_s_status() -> None:
    ok = subprocess.run([sys.executable, "-m", "orchestrator", "--version"], capture_output=True, text=True,
                        timeout=60, cwd=CODE_ROOT)
    assert (ok.returncode, ok.stdout.startswith("pystack version")) == (0, True), ok.stderr
    bad = subprocess.run([sys.executable, "-m", "orchestrator", "no-such-command"], capture_output=True, text=True,
                         timeout=60, cwd=CODE_ROOT)
    assert bad.returncode == 2 and "No such command" in bad.stderr
