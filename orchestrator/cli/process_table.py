"""``top``'s table: each of a container's processes as ``ps -ef`` shows it, from the host's side.

Docker Compose's ``top`` runs the host's ``ps -ef`` over the container's PIDs, so its columns are
UID, PID, PPID, C, STIME, TTY, TIME and CMD, with host PIDs and the host's user names. pystack reads
the same fields from ``/proc`` itself rather than run ``ps`` (which a minimal host may lack);
the formatting follows procps so that scripts written against Compose's output keep working.
"""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Iterable
from dataclasses import dataclass

TITLES = ("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD")
_PTY_MAJORS = range(136, 144)  # Unix98 pty slaves: /dev/pts/N, N = (major - 136) * 256 + minor
_TTY_MAJOR = 4  # /dev/ttyN below minor 64, /dev/ttySN from 64


@dataclass(frozen=True)
class Stat:
    """The fields of ``/proc/<pid>/stat`` that ``ps -ef`` shows."""

    comm: str
    ppid: int
    tty_nr: int
    cpu_ticks: int  # utime + stime
    start_ticks: int  # since boot


def parse_stat(text: str) -> Stat:
    """``comm`` is in parentheses and may hold spaces and ')', so the fields are counted from the
    last ')'."""
    head, _, rest = text.rpartition(")")
    comm = head.partition("(")[2]
    f = rest.split()  # f[0] is field 3 (state)
    return Stat(comm=comm, ppid=int(f[1]), tty_nr=int(f[4]), cpu_ticks=int(f[11]) + int(f[12]),
                start_ticks=int(f[19]))


def tty_name(tty_nr: int) -> str:
    """The controlling terminal as ``ps`` names it; ``?`` for none."""
    if tty_nr == 0:
        return "?"
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if major in _PTY_MAJORS:
        return f"pts/{(major - 136) * 256 + minor}"
    if major == _TTY_MAJOR:
        return f"tty{minor}" if minor < 64 else f"ttyS{minor - 64}"
    return "?"


def cpu_time(seconds: int) -> str:
    """Cumulative CPU time as ``[DD-]HH:MM:SS``."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


def start_label(started: float, now: float) -> str:
    """``HH:MM`` for a process started today (local time), ``MonDD`` this year, else the year."""
    then, today = time.localtime(started), time.localtime(now)
    if now - started < 86400 and then.tm_yday == today.tm_yday and then.tm_year == today.tm_year:
        return time.strftime("%H:%M", then)
    if then.tm_year == today.tm_year:
        return time.strftime("%b%d", then)
    return str(then.tm_year)


def cpu_percent(cpu_ticks: int, elapsed_ticks: int) -> int:
    """``C``: CPU used over the process's life, in whole percent, at most 99 (as procps)."""
    if elapsed_ticks <= 0:
        return 0
    return min(99, cpu_ticks * 100 // elapsed_ticks)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def row(pid: int, stat: Stat, uid: int, cmdline: bytes, *, hz: int, boot: float, now: float) -> tuple[str, ...]:
    """One line of the table, from what ``/proc`` said of ``pid``."""
    args = cmdline.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    started = boot + stat.start_ticks / hz
    elapsed = int((now - boot) * hz) - stat.start_ticks
    return (user_name(uid), str(pid), str(stat.ppid), str(cpu_percent(stat.cpu_ticks, elapsed)),
            start_label(started, now), tty_name(stat.tty_nr), cpu_time(stat.cpu_ticks // hz),
            args or f"[{stat.comm}]")


def effective_uid(status: str) -> int:
    """The effective uid (``ps -ef``'s UID) from ``/proc/<pid>/status``: its ``Uid:`` line's second field."""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    raise ValueError("no Uid line")


def boot_time() -> float:
    """When the host booted, in seconds since the epoch (``btime`` of ``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def read_rows(pids: Iterable[int]) -> list[tuple[str, ...]]:
    """The rows of the processes that still exist, by PID; one that ends while being read is left out."""
    hz = os.sysconf("SC_CLK_TCK")
    boot, now = boot_time(), time.time()
    out = []
    for pid in sorted(pids):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
                stat = parse_stat(fh.read())
            with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as fh:
                uid = effective_uid(fh.read())
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except (OSError, ValueError, IndexError):
            continue
        out.append(row(pid, stat, uid, cmdline, hz=hz, boot=boot, now=now))
    return out


def render(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell plus three spaces; CMD last and unpadded."""
    table = [TITLES, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(TITLES) - 1)]
    return ["   ".join([c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]) for r in table]
