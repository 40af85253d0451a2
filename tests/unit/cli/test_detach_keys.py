"""--detach-keys as Docker writes them, and the scanner that holds back a possible start of them."""

from __future__ import annotations

import pytest

from orchestrator.cli.detach_keys import Scanner, parse


def test_parse_docker_notation() -> None:
    assert parse(None) == b"\x10\x11"  # ctrl-p,ctrl-q
    assert parse("") == b"\x10\x11"
    assert parse("ctrl-a,x") == b"\x01x"
    assert parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == bytes([0, 27, 28, 29, 30, 31])
    assert parse("CTRL-Z") == b"\x1a"
    for bad in ("ctrl-1", "ab", "ctrl-", "é", "a,,b"):
        with pytest.raises(ValueError, match="invalid detach key"):
            parse(bad)


def test_scanner_passes_everything_but_the_sequence() -> None:
    s = Scanner(b"\x10\x11")
    assert s.feed(b"ls\r") == (b"ls\r", False)
    assert s.feed(b"a\x10") == (b"a", False)  # held: might be the start
    assert s.feed(b"b") == (b"\x10b", False)  # it was not: both go on
    assert s.feed(b"\x10\x10") == (b"\x10", False)  # the second may still start it
    assert s.feed(b"\x11typed-after") == (b"", True)
    s = Scanner(b"\x10\x11")
    assert s.feed(b"x\x10\x11") == (b"x", True)


def test_scanner_with_a_repeated_key() -> None:
    s = Scanner(b"qq")
    assert s.feed(b"aq") == (b"a", False)
    assert s.feed(b"q") == (b"", True)
