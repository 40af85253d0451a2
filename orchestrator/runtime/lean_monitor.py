"""A monitor that outlived the command which forked it, re-executed as a fresh interpreter.

A monitor forked by its caller (a foreground ``run``, the runtime's ``run``, a create without the
zygote, every container of an external runtime) starts as a copy-on-write copy of that caller and
shares its pages only while the caller lives. Once the caller is gone, the monitor owns them all:
28 MiB private after a killed foreground ``run``, measured, against ~1.4 MiB for a monitor forked
from the zygote. So a monitor whose caller dies while PID 1 still runs execs this
(:func:`orchestrator.runtime.monitor.record_exit`). It keeps its pid, PID 1 as its child, and the
descriptors it hands over (PID 1's pidfd and output pipes), and loads nothing but the relay.
Once PID 1's exit is recorded it runs the create's ``orphan_exit_command``, if any: its caller
is not there to act on the exit.
"""

from __future__ import annotations

import json

from orchestrator.runtime import relay
from orchestrator.runtime.logfile import LogWriter


def main(argv: list[str]) -> int:
    """``argv[0]``: the JSON that :func:`orchestrator.runtime.monitor._become_lean` wrote."""
    args = json.loads(argv[0])
    log_path, max_size, max_files = args["log"]
    log = LogWriter(log_path, max_size, max_files) if log_path else None
    pipes = {int(fd): str(name) for fd, name in args["pipes"].items()}
    status = relay.relay(int(args["pid"]), int(args["pidfd"]), pipes, log)
    relay.record(str(args["exit_file"]), status, args["cgroups_path"])
    if args.get("exit_command"):  # its caller is gone: nobody else will act on the exit
        from orchestrator.runtime.exit_command import run_after_caller

        run_after_caller([str(a) for a in args["exit_command"]], str(args["exit_unless_gone"]))
    return 0
