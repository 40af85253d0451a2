"""``stats`` rows in docker's units and fields."""

from __future__ import annotations

from orchestrator.cli.stats_view import Reading, binary_size, decimal_size, fields, net_bytes, table


def test_units_are_docker_s() -> None:
    assert [binary_size(n) for n in (0, 1023, 1024, 736 * 1024, 64 * 1024**2, 25_280_000_000)] == [
        "0B", "1023B", "1KiB", "736KiB", "64MiB", "23.54GiB"]
    assert [decimal_size(n) for n in (0, 362, 1460, 295_000, 2_500_000_000)] == ["0B", "362B", "1.46kB", "295kB",
                                                                               "2.5GB"]


def test_fields_and_table() -> None:
    r = Reading("e0a4a09e5233abcdef", "p-busy-1", 99.481, 736 * 1024, 64 * 1024**2, 1460, 362, 295_000, 0, 1)
    assert fields(r) == {"BlockIO": "295kB / 0B", "CPUPerc": "99.48%", "Container": "e0a4a09e5233",
                         "ID": "e0a4a09e5233", "MemPerc": "1.12%", "MemUsage": "736KiB / 64MiB", "Name": "p-busy-1",
                         "NetIO": "1.46kB / 362B", "PIDs": "1"}
    assert fields(r, trunc=False)["ID"] == "e0a4a09e5233abcdef"
    lines = table([r]).splitlines()
    assert lines[0].startswith("CONTAINER ID   NAME") and lines[1].startswith("e0a4a09e5233   p-busy-1")


def test_net_bytes_leave_out_loopback() -> None:
    dev = ("Inter-|   Receive                                                |  Transmit\n"
           " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls"
           " carrier compressed\n"
           "    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0"
           "       0          0\n"
           "  eth0:    1460      12    0    0    0     0          0         0      362       4    0    0    0     0"
           "       0          0\n")
    assert net_bytes(dev) == (1460, 362)
