"""config_hash: same meaning ⇒ same hash, whatever the key order or syntax; different meaning ⇒ different."""

from __future__ import annotations

from .helpers import service


def test_key_order_does_not_matter() -> None:
    a = service({"environment": {"A": "1", "B": "2"}, "labels": {"x": "1", "y": "2"}, "command": ["a"]})
    b = service({"command": ["a"], "labels": {"y": "2", "x": "1"}, "environment": {"B": "2", "A": "1"}})
    assert a.config_hash() == b.config_hash()


def test_short_and_long_syntax_same_hash() -> None:
    short = service({"ports": ["8080:80/udp"], "environment": ["A=1"], "depends_on": ["x"], "build": "./b",
                     "healthcheck": {"test": "true", "interval": "90s"}, "mem_limit": "1g",
                     "extra_hosts": ["h:1.2.3.4"]}, name="s")
    long = service({"ports": [{"target": 80, "published": "8080", "protocol": "udp"}],
                    "environment": {"A": 1}, "depends_on": {"x": {"condition": "service_started"}},
                    "build": {"context": "b"}, "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": "1m30s"},
                    "deploy": {"resources": {"limits": {"memory": "1024m"}}}, "extra_hosts": {"h": "1.2.3.4"}},
                   name="s")
    assert short.config_hash() == long.config_hash()


def test_meaning_changes_hash() -> None:
    base = service({"environment": {"A": "1"}})
    assert base.config_hash() != service({"environment": {"A": "2"}}).config_hash()
    assert base.config_hash() != service({"environment": {"A": "1"}, "privileged": True}).config_hash()


def test_excluded_fields() -> None:
    base = service({})
    for extra in ({"scale": 3}, {"profiles": ["p"]}, {"pull_policy": "always"}, {"x-note": 1}):
        assert service(extra).config_hash() == base.config_hash(), extra


def test_hash_is_stable_hex() -> None:
    h = service({}).config_hash()
    assert len(h) == 64 and h == service({}).config_hash()
