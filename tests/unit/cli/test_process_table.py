"""``top``'s columns: ``ps -ef``'s fields from ``/proc`` text, formatted as procps formats them."""

from __future__ import annotations

import time

from orchestrator.cli import process_table as pt

# /proc/<pid>/stat of a process whose comm has a space and a ')'; utime 250, stime 50, start 1000
STAT = ("4242 (my (odd) prog) S 4200 4242 4242 34817 4242 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1000 "
        "1234567 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")


def test_parse_stat_counts_fields_from_the_last_paren() -> None:
    st = pt.parse_stat(STAT)
    assert st == pt.Stat(comm="my (odd) prog", ppid=4200, tty_nr=34817, cpu_ticks=300, start_ticks=1000)


def test_tty_names() -> None:
    assert pt.tty_name(0) == "?"
    assert pt.tty_name(34817) == "pts/1"  # major 136, minor 1
    assert pt.tty_name((137 << 8) | 2) == "pts/258"  # the second pty major
    assert pt.tty_name((136 << 8) | (1 << 20)) == "pts/256"  # minor's high bits above bit 20
    assert pt.tty_name((4 << 8) | 3) == "tty3"
    assert pt.tty_name((4 << 8) | 65) == "ttyS1"
    assert pt.tty_name((5 << 8) | 1) == "?"  # /dev/console and the like: ps shows no name either


def test_cpu_time_and_percent() -> None:
    assert pt.cpu_time(0) == "00:00:00"
    assert pt.cpu_time(3 * 3600 + 7 * 60 + 9) == "03:07:09"
    assert pt.cpu_time(2 * 86400 + 61) == "2-00:01:01"
    assert pt.cpu_percent(0, 0) == 0
    assert pt.cpu_percent(50, 200) == 25
    assert pt.cpu_percent(500, 200) == 99  # never above 99, as procps


def test_start_label_today_this_year_and_before() -> None:
    now = time.mktime((2026, 12, 7, 15, 30, 0, 0, 0, -1))
    assert pt.start_label(time.mktime((2026, 12, 7, 9, 5, 0, 0, 0, -1)), now) == "09:05"
    assert pt.start_label(time.mktime((2026, 3, 2, 9, 5, 0, 0, 0, -1)), now) == "Mar02"
    assert pt.start_label(time.mktime((2025, 12, 31, 23, 0, 0, 0, 0, -1)), now) == "2025"


def test_effective_uid_is_the_second_uid() -> None:
    assert pt.effective_uid("Name:\tx\nUid:\t0\t1000\t1000\t1000\nGid:\t0\t0\t0\t0\n") == 1000


def test_row_and_render() -> None:
    hz, boot = 100, 1_000_000.0
    now = boot + 40.0  # 4000 ticks since boot; the process ran for 3000 of them and used 300
    row = pt.row(4242, pt.parse_stat(STAT), 0, b"sleep\x001000\x00", hz=hz, boot=boot, now=now)
    assert row[:4] == ("root", "4242", "4200", "10")
    assert row[5:] == ("pts/1", "00:00:03", "sleep 1000")
    zombie = pt.row(7, pt.parse_stat(STAT), 0, b"", hz=hz, boot=boot, now=now)
    assert zombie[-1] == "[my (odd) prog]"  # no command line: the name in brackets, as ps
    lines = pt.render([row])
    assert lines[0].split() == list(pt.TITLES)
    assert lines[1].split() == [*row[:-1], "sleep", "1000"]
    assert lines[0].index("PID") == lines[1].index("4242")  # columns line up
    assert lines[0].index("CMD") == lines[1].index("sleep")


def test_user_name_falls_back_to_the_number() -> None:
    assert pt.user_name(0) == "root"
    assert pt.user_name(1_999_999_999) == "1999999999"
