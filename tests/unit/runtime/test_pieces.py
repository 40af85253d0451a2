"""Pure pieces of the runtime: mount options, the json-file log writer, the seccomp policy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orchestrator.runtime import kernel as k
from orchestrator.runtime import logfile, mountopts, seccomp


def test_mount_options() -> None:
    o = mountopts.parse(["rbind", "ro", "nosuid", "rprivate", "mode=755", "size=1m"], "bind")
    assert o.bind and o.recursive
    assert o.flags == k.MS_RDONLY | k.MS_NOSUID
    assert o.propagation == [k.MS_PRIVATE | k.MS_REC]
    assert o.data_str == "mode=755,size=1m"
    assert mountopts.parse(["ro", "rw"]).flags == 0
    assert not mountopts.parse(["nodev"], "tmpfs").bind


def records(path: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_log_lines_split_and_partial(tmp_path: Path) -> None:
    w = logfile.LogWriter(str(tmp_path / "log"))
    w.feed("stdout", b"one\ntw")
    w.feed("stdout", b"o\nthr")
    w.feed("stderr", b"x" * (logfile.MAX_LINE + 5))
    assert [r["log"] for r in records(tmp_path / "log")] == ["one\n", "two\n", "x" * logfile.MAX_LINE]
    assert w.next_deadline() is not None
    w.flush_partial()  # not idle long enough yet
    assert len(records(tmp_path / "log")) == 3
    time.sleep(logfile.IDLE_FLUSH + 0.05)
    w.flush_partial()
    got = [(r["stream"], r["log"]) for r in records(tmp_path / "log")[3:]]
    assert sorted(got) == [("stderr", "xxxxx"), ("stdout", "thr")]
    w.close()
    assert all(r["time"].endswith("Z") and "T" in r["time"] for r in records(tmp_path / "log"))


def test_log_rotation(tmp_path: Path) -> None:
    path = tmp_path / "log"
    w = logfile.LogWriter(str(path), max_size=500, max_files=2)
    for i in range(100):
        w.feed("stdout", f"line {i}\n".encode())
    w.close()
    assert path.stat().st_size <= 500 and Path(f"{path}.1").stat().st_size <= 500
    assert not Path(f"{path}.2").exists()
    assert records(path)[-1]["log"] == "line 99\n"
    one = logfile.LogWriter(str(tmp_path / "single"), max_size=200, max_files=1)
    for i in range(50):
        one.feed("stdout", f"l{i}\n".encode())
    one.close()
    assert (tmp_path / "single").stat().st_size <= 200 and not Path(f"{tmp_path / 'single'}.1").exists()


def test_a_record_cut_short_by_a_killed_writer_costs_that_record_alone(tmp_path: Path) -> None:
    """A writer killed mid-write (a foreground run's CLI relaying a pty) leaves a record without
    its newline; the next writer ends it first, so its own records stay on lines of their own."""
    from orchestrator.reconcile.logs import read_records

    path = tmp_path / "log"
    w = logfile.LogWriter(str(path))
    w.feed("stdout", b"kept\n")
    w.close()
    with open(path, "ab") as fh:
        fh.write(b'{"log": "torn re')
    assert [r.text for r in read_records(path)] == ["kept\n"]  # a torn last line is skipped
    w = logfile.LogWriter(str(path))
    w.feed("stdout", b"after\n")
    w.close()
    assert [r.text for r in read_records(path)] == ["kept\n", "after\n"]
    assert path.read_bytes().count(b"\n") == 3
    size = path.stat().st_size
    logfile.LogWriter(str(path)).close()  # a log that ends well is left as it is
    assert path.stat().st_size == size


def test_rfc3339_nano() -> None:
    assert logfile.rfc3339_nano(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"


def test_default_seccomp_profile_follows_capabilities() -> None:
    plain = seccomp.default_profile([])
    names = {n for r in plain["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]}
    assert "read" in names and "execve" in names
    for blocked in ("mount", "unshare", "setns", "ptrace", "kexec_load", "bpf", "keyctl"):
        assert blocked not in names
    admin = seccomp.default_profile(["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
    names2 = {n for r in admin["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert {"mount", "unshare", "setns", "ptrace", "clone"} <= names2
    assert "kexec_load" not in names2


def test_seccomp_compiles_to_bpf(tmp_path: Path) -> None:
    pytest.importorskip("pyseccomp")
    prof = seccomp.default_profile([])
    bpf = seccomp.compile_cached(prof, tmp_path)
    assert len(bpf) % 8 == 0 and len(bpf) > 800
    assert seccomp.compile_cached(prof, tmp_path) == bpf
    assert len(list(tmp_path.iterdir())) == 1


def test_the_zygote_socket_names_the_code_it_runs(tmp_path: Path) -> None:
    """A caller running other code (an upgrade, another interpreter) must not reach an old zygote."""
    import re

    from orchestrator.runtime import zygote

    first = zygote.socket_path(tmp_path)
    assert first == zygote.socket_path(tmp_path)  # stable within one process
    assert first.parent == tmp_path and re.fullmatch(r"zygote-[0-9a-f]{12}\.sock", first.name)
    zygote._FINGERPRINT.clear()
    try:
        import sys
        from unittest import mock

        with mock.patch.object(sys, "executable", "/opt/other/python3"):
            other = zygote.socket_path(tmp_path)
    finally:
        zygote._FINGERPRINT.clear()
    assert other != first and zygote.socket_path(tmp_path) == first


def test_a_monitor_request_carries_the_config_and_the_seccomp_program_as_raw_bytes(tmp_path: Path) -> None:
    """The zygote and its monitor leave the OCI config unparsed; the init parses it (plan.config())."""
    from orchestrator.runtime import zygote
    from orchestrator.runtime.monitor_plan import MonitorPlan
    from orchestrator.runtime.store import ContainerDir

    cfg = {"ociVersion": "1.0.2", "process": {"args": ["/bin/true"], "env": ["A=é"]},
           "linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}
    plan = MonitorPlan(cdir=ContainerDir(tmp_path, "c1"), cfg=cfg, bundle=str(tmp_path / "b"), ns_new=0x20000,
                       pid_ns=(None, True), time_ns=False, cgroups_path="pystack/c1", seccomp_bpf=bytes(range(256)),
                       log_path="/l.json", log_max_size=None, log_max_files=1, console_socket=None,
                       ns_join_fds=[(9, 0x40000000)], userns=True, caller_fd=17)
    raw = zygote._encode(plan)
    got, report, stdio = zygote._decode(raw, [10, 11, 12, 13, 20, 21, 22, 30])
    assert got.cfg == {} and got.config() == cfg and got.cfg == cfg
    assert got.seccomp_bpf == bytes(range(256))
    assert (report, stdio, got.init_fds, got.ns_join_fds) == (10, [20, 21, 22], (11, 12, 13), [(30, 0x40000000)])
    assert "dir" not in vars(got.cdir)  # no Path built in the zygote: see ContainerDir
    assert (got.cdir.dir, got.bundle) == (tmp_path / "c1", str(tmp_path / "b"))
    assert (got.pid_ns, got.userns) == ((None, True), True)
    assert got.caller_fd == -1  # a descriptor of the caller's, meaningless in the zygote: its monitors watch nobody
    no_filter = zygote._decode(zygote._encode(MonitorPlan(**{**vars(plan), "seccomp_bpf": None})),
                               [10, 11, 12, 13, 20, 21, 22, 30])[0]
    assert no_filter.seccomp_bpf is None
    with pytest.raises(ValueError, match="wrong length"):
        zygote._decode(raw[:-1], [10, 11, 12, 13, 20, 21, 22, 30])


def test_the_zygote_serves_without_threading() -> None:
    """threading's at-fork hook would run in every monitor the zygote forks and make each own ~210 KiB
    more; what the zygote imports to serve must leave it out (a fresh interpreter, as the zygote is)."""
    from tests.fresh import run_fresh

    out = run_fresh("import orchestrator.runtime.zygote\n"
                    "from orchestrator.runtime import monitor\n"
                    "from orchestrator.runtime.init import close_fds_except\n"
                    "print(sorted(m for m in sys.modules if m.split('.')[0] == 'threading') or 'none')")
    assert out.strip() == "none"


def test_the_init_joins_its_cgroup_late_unless_a_mounted_cgroup_fs_depends_on_the_join() -> None:
    from orchestrator.runtime.init import joins_cgroup_late

    plain: dict[str, object] = {"mounts": [{"destination": "/proc", "type": "proc"}]}
    with_cg: dict[str, object] = {"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup"}]}
    assert joins_cgroup_late(plain, k.CLONE_NEWCGROUP, userns=True, hooked=False)
    assert joins_cgroup_late(with_cg, k.CLONE_NEWNS, userns=False, hooked=False)  # shows the host's tree
    assert not joins_cgroup_late(with_cg, k.CLONE_NEWNS | k.CLONE_NEWCGROUP, userns=False, hooked=False)
    assert not joins_cgroup_late(with_cg, k.CLONE_NEWNS, userns=True, hooked=False)  # binds its own dirs
    assert not joins_cgroup_late(plain, 0, userns=False, hooked=True)


def test_an_init_that_cannot_join_its_cgroup_says_which(tmp_path: Path) -> None:
    from orchestrator.cgroups import SelfJoin
    from orchestrator.runtime.init import _join_cgroup
    from orchestrator.runtime.procsetup import SetupError

    missing = tmp_path / "pystack" / "gone"
    with pytest.raises(SetupError, match=f"cannot join cgroup {missing}: No such file or directory"):
        _join_cgroup(SelfJoin(None, (str(missing / "tasks"),)))


def test_a_monitor_quiets_the_signals_it_inherits_without_the_signal_module_s_enum_lookup() -> None:
    """The zygote's Python SIGCHLD handler and wakeup fd are dropped, and the signals a monitor must
    survive are ignored: through ``_signal``, whose calls skip the failing enum lookup that made each
    monitor own more memory (see monitor._quiet_signals)."""
    from tests.fresh import run_fresh

    out = run_fresh("r, w = os.pipe2(os.O_NONBLOCK)\n"
                    "signal.set_wakeup_fd(w)\n"
                    "signal.signal(signal.SIGCHLD, lambda *_: None)\n"
                    "from orchestrator.runtime import monitor\n"
                    "monitor._quiet_signals()\n"
                    "names = ('SIGCHLD', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE')\n"
                    "print(signal.set_wakeup_fd(-1), *(signal.getsignal(getattr(signal, n)).name for n in names))",
                    imports="os, signal")
    assert out.split() == ["-1", "SIG_DFL", "SIG_IGN", "SIG_IGN", "SIG_IGN", "SIG_IGN"]


def test_reading_containers_states_loads_no_ctypes(tmp_path: Path) -> None:
    """up with nothing to do, ps and down only read states: the runtime's kernel calls (ctypes,
    ~1.8 ms to load) are imported by create alone."""
    from tests.fresh import run_fresh

    out = run_fresh("from pathlib import Path\n"
                    "from orchestrator.paths import Paths\n"
                    "from orchestrator.runtime.engine import PystackRuntime\n"
                    f"print(PystackRuntime(Paths(Path({str(tmp_path)!r}))).list(), 'ctypes' in sys.modules)")
    assert out.split() == ["[]", "False"]


def test_launching_without_the_zygote_loads_no_socket() -> None:
    """A foreground ``run`` and ``runtime run`` fork their monitor themselves: the zygote's client
    (socket, selectors: ~2 ms) is imported only by a create that asks the zygote."""
    from tests.fresh import run_fresh

    out = run_fresh("import orchestrator.runtime.launch\n"
                    "print('orchestrator.runtime.zygote' in sys.modules, 'socket' in sys.modules)")
    assert out.split() == ["False", "False"]
