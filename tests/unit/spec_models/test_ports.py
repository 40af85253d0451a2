"""ports: short syntax (ranges, host IP, IPv6 in brackets, protocol) → one long entry per port."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.spec.models.ports import parse_port_short
from orchestrator.spec.models.units import Invalid

from .helpers import service, service_errors, stack


def ports(*items: object) -> list[tuple[int, str | None, str | None, str]]:
    svc = service({"ports": list(items)})
    return [(p.target, p.published, p.host_ip, p.protocol) for p in svc.ports]


def test_container_port_only() -> None:
    assert ports(80, "443") == [(80, None, None, "tcp"), (443, None, None, "tcp")]


def test_host_and_container() -> None:
    assert ports("8080:80") == [(80, "8080", None, "tcp")]


def test_host_ip_and_protocol() -> None:
    assert ports("127.0.0.1:5353:53/udp") == [(53, "5353", "127.0.0.1", "udp")]


def test_ipv6_in_brackets() -> None:
    assert ports("[::1]:8080:80") == [(80, "8080", "::1", "tcp")]
    assert ports("[::1]::80") == [(80, None, "::1", "tcp")]


def test_ranges_expand_one_entry_per_port() -> None:
    assert ports("8000-8002:9000-9002") == [(9000, "8000", None, "tcp"), (9001, "8001", None, "tcp"),
                                            (9002, "8002", None, "tcp")]
    assert ports("3000-3001") == [(3000, None, None, "tcp"), (3001, None, None, "tcp")]


def test_host_range_single_container_port_stays_one_entry() -> None:
    assert ports("8000-8010:80") == [(80, "8000-8010", None, "tcp")]


def test_long_form_equals_short_form() -> None:
    long = service({"ports": [{"target": 80, "published": 8080, "protocol": "tcp"}]})
    short = service({"ports": ["8080:80"]})
    assert long.ports == short.ports
    assert long.config_hash() == short.config_hash()


def test_error_line_names_index_and_reason() -> None:
    lines = service_errors({"ports": ["80", "80:abc"]})
    assert lines == ['services.svc.ports[1]: invalid port "80:abc": container port must be a number']


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("70000", "out of range"), ("1-3:1-2", "different sizes"), ("80/sctp", "protocol"),
     ("1.2.3:80:80", "not an IP address"), ("9-5", "reversed"), ("a:b:c:d", "")],
)
def test_bad_ports(bad: str, reason: str) -> None:
    lines = service_errors({"ports": [bad]})
    assert len(lines) == 1 and reason in lines[0]


def test_every_bad_port_reported_at_once() -> None:
    lines = service_errors({"ports": ["x", "80", "y", {"published": 1}]})
    assert [line.split(":")[0] for line in lines] == ["services.svc.ports[0]", "services.svc.ports[2]",
                                                     "services.svc.ports[3].target"]


def test_long_form_mode_checked_by_model() -> None:
    lines = service_errors({"ports": [{"target": 80, "mode": "bogus"}]})
    assert lines[0].startswith("services.svc.ports[0].mode: invalid value \"bogus\"")


def test_same_host_port_twice_is_an_error_also_through_ranges() -> None:
    data = {"services": {"a": {"image": "x", "ports": ["8000-8005:8000-8005"]},
                         "b": {"image": "x", "ports": ["8003:80"]}}}
    with pytest.raises(Exception) as info:
        stack(data)
    assert "host port 8003/tcp is already published by service a" in str(info.value)


def test_a_service_scaled_to_zero_publishes_nothing() -> None:
    for zero in ({"scale": 0}, {"deploy": {"replicas": 0}}):
        s = stack({"services": {"web": {"image": "x", "ports": ["8080:80"]},
                                "web-debug": {"image": "x", "ports": ["8080:80"], **zero}}})
        assert set(s.services) == {"web", "web-debug"}


def test_same_port_different_protocol_or_ip_is_fine() -> None:
    s = stack({"services": {"a": {"image": "x", "ports": ["127.0.0.1:80:80", "53:53/udp"]},
                            "b": {"image": "x", "ports": ["127.0.0.2:80:80", "53:53/tcp"]}}})
    assert len(s.services) == 2


def test_wildcard_clashes_with_specific_address() -> None:
    data = {"services": {"a": {"image": "x", "ports": ["127.0.0.1:80:80"]}, "b": {"image": "x", "ports": ["80:80"]}}}
    with pytest.raises(Exception, match="already published"):
        stack(data)


@given(st.integers(1, 65535), st.integers(1, 65535), st.sampled_from(["", "/tcp", "/udp"]),
       st.sampled_from(["", "127.0.0.1:", "[::1]:", "0.0.0.0:"]))
def test_port_property(host: int, container: int, proto: str, ip: str) -> None:
    [entry] = parse_port_short(f"{ip}{host}:{container}{proto}")
    assert entry["target"] == container
    assert entry["published"] == str(host)
    assert entry["protocol"] == (proto[1:] or "tcp")
    assert entry.get("host_ip") == (ip.strip("[]:") or None if ip != "[::1]:" else "::1")


@given(st.integers(1, 60000), st.integers(0, 20))
def test_range_property(start: int, length: int) -> None:
    entries = parse_port_short(f"{start}-{start + length}:{start}-{start + length}/udp")
    assert [e["target"] for e in entries] == list(range(start, start + length + 1))
    assert all(e["published"] == str(e["target"]) for e in entries)


@given(st.text(max_size=20))
def test_port_parser_only_raises_invalid(text: str) -> None:
    with contextlib.suppress(Invalid):
        parse_port_short(text)
