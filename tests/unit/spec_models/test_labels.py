"""labels, sysctls, annotations: lists of KEY=VALUE become maps; label_file merged under labels."""

from __future__ import annotations

from .helpers import service, service_errors


def test_labels_list_and_map_equal() -> None:
    a = service({"labels": ["com.x=1", "flag"]})
    b = service({"labels": {"com.x": "1", "flag": ""}})
    assert a.labels == b.labels == {"com.x": "1", "flag": ""}
    assert a.config_hash() == b.config_hash()


def test_sysctls_and_annotations() -> None:
    svc = service({"sysctls": ["net.core.somaxconn=1024"], "annotations": {"a": 1}})
    assert svc.sysctls == {"net.core.somaxconn": "1024"} and svc.annotations == {"a": "1"}


def test_labels_must_be_list_or_map() -> None:
    [line] = service_errors({"labels": "a=b"})
    assert line.startswith("services.svc.labels: must be a mapping or a list")
