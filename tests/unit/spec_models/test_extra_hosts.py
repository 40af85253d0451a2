"""extra_hosts in its list (':' or '='), and map forms → [(host, ip)]; dns keys accept a string."""

from __future__ import annotations

from .helpers import service, service_errors


def test_forms_equal() -> None:
    a = service({"extra_hosts": ["db:10.0.0.1", "v6=::1", "br:[fe80::1]"]}).extra_hosts
    b = service({"extra_hosts": {"db": "10.0.0.1", "v6": "::1", "br": "fe80::1"}}).extra_hosts
    assert a == b == [("db", "10.0.0.1"), ("v6", "::1"), ("br", "fe80::1")]


def test_bad_entry() -> None:
    [line] = service_errors({"extra_hosts": ["nohost"]})
    assert line.startswith('services.svc.extra_hosts[0]: invalid extra host "nohost"')


def test_dns_string_or_list() -> None:
    svc = service({"dns": "1.1.1.1", "dns_search": ["a.b"], "dns_opt": ["ndots:2"]})
    assert (svc.dns, svc.dns_search, svc.dns_opt) == (["1.1.1.1"], ["a.b"], ["ndots:2"])
