"""attach: the input of a running container's PID 1, taken from its monitor, and the run's end."""

from __future__ import annotations

import json
import os
import select
from pathlib import Path

import pytest

from orchestrator.errors import RuntimeFailure
from orchestrator.runtime.engine import PystackRuntime
from tests.integration.runtime.conftest import BundleFactory

pytestmark = pytest.mark.root


def _logged(bundle: Path) -> str:
    path = bundle / "log.json"
    return "".join(json.loads(line)["log"] for line in path.read_text().splitlines()) if path.exists() else ""


def _ends(rt: PystackRuntime, cid: str, fd: int) -> int:
    assert select.select([fd], [], [], 15)[0], "the run did not end"
    st = rt.exit_status(cid)
    assert st is not None
    return st.code


def test_attach_writes_to_an_open_stdin(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sh", "-c", "read line; echo got:$line; exit 3"])
    rt.create(cid, bundle, log_path=bundle / "log.json", open_stdin=True)
    try:
        rt.start(cid)
        att = rt.attach(cid)
        try:
            assert att.stdin is not None and not att.terminal
            assert att.pid == rt.state(cid).pid
            os.write(att.stdin, b"hello\n")
            assert _ends(rt, cid, att.ended) == 3
        finally:
            att.close()
        assert "got:hello" in _logged(bundle)
    finally:
        rt.delete(cid, force=True)


def test_attach_types_into_the_pty_of_a_terminal_container(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    cid, bundle = make_bundle(["sh", "-c", "read line; echo got:$line; exit 4"], terminal=True)
    rt.create(cid, bundle, log_path=bundle / "log.json")
    try:
        rt.start(cid)
        att = rt.attach(cid)
        try:
            assert att.stdin is not None and att.terminal
            os.write(att.stdin, b"typed\r")  # a key press: the line discipline turns CR into NL
            assert _ends(rt, cid, att.ended) == 4
        finally:
            att.close()
        assert "got:typed" in _logged(bundle)
    finally:
        rt.delete(cid, force=True)


def test_attach_takes_nothing_but_pid1s_own_input(rt: PystackRuntime, make_bundle: BundleFactory) -> None:
    """No input kept open: nothing to write to. A PID 1 that made its stdin a FIFO of its own gets
    nothing of the monitor's either (only the pipe the monitor made for it is ever taken)."""
    cid, bundle = make_bundle(["sleep", "30"])
    rt.create(cid, bundle, log_path=bundle / "log.json")
    try:
        rt.start(cid)
        att = rt.attach(cid)
        assert att.stdin is None and not att.terminal
        att.close()
    finally:
        rt.delete(cid, force=True)
    cid, bundle = make_bundle(["sh", "-c", "mkfifo /tmp/f; exec 0<>/tmp/f; exec sleep 30"])
    rt.create(cid, bundle, log_path=bundle / "log.json", open_stdin=True)
    try:
        rt.start(cid)
        pid = rt.state(cid).pid
        for _ in range(200):  # until the shell has swapped its stdin and exec'd sleep
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep"):
                break
            select.select([], [], [], 0.01)
        att = rt.attach(cid)
        assert att.stdin is None
        att.close()
    finally:
        rt.delete(cid, force=True)
    cid, bundle = make_bundle(["true"])
    rt.create(cid, bundle, log_path=bundle / "log.json")
    try:
        rt.start(cid)
        assert rt.wait(cid, 10) is not None
        with pytest.raises(RuntimeFailure, match="not running"):
            rt.attach(cid)
    finally:
        rt.delete(cid, force=True)
