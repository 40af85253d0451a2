"""Reference normalization must agree with Docker's, or the same image is stored twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import ImageError
from orchestrator.images import reference

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("given", "canonical", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5301/pstest/a:v1", "localhost:5301/pstest/a:v1", "localhost:5301/pstest/a:v1"),
        ("127.0.0.1:5301/a", "127.0.0.1:5301/a:latest", "127.0.0.1:5301/a:latest"),
        ("quay.io/a/b/c:t-1.2_x", "quay.io/a/b/c:t-1.2_x", "quay.io/a/b/c:t-1.2_x"),
        (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
        (f"busybox:1@{D}", f"docker.io/library/busybox:1@{D}", f"busybox:1@{D}"),
        ("my_app__x-y.z", "docker.io/library/my_app__x-y.z:latest", "my_app__x-y.z:latest"),
    ],
)
def test_normalize_like_docker(given: str, canonical: str, familiar: str) -> None:
    assert reference.normalize(given) == canonical
    assert reference.familiar(given) == familiar


def test_parts() -> None:
    r = reference.parse("localhost:5301/pstest/a:v1")
    assert (r.domain, r.path, r.tag, r.digest) == ("localhost:5301", "pstest/a", "v1", None)
    assert r.repository == "localhost:5301/pstest/a"
    assert reference.parse("busybox", default_tag=False).tag is None
    assert str(reference.parse("busybox").with_digest(D)) == f"docker.io/library/busybox@{D}"


@pytest.mark.parametrize(
    "bad",
    ["", "a/UPPER", "Busybox", "a:b:c", "a@sha256:short", "a@md5:" + "0" * 32, "-a", "a/-b", "a:-tag",
     "a:" + "t" * 129, "a//b", "a/"],
)
def test_invalid_references_give_one_line(bad: str) -> None:
    with pytest.raises(ImageError) as ei:
        reference.parse(bad)
    assert "\n" not in str(ei.value)
    assert "invalid image reference" in str(ei.value)

_comp = st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)?", fullmatch=True)
_host = st.sampled_from(["", "localhost/", "localhost:5301/", "reg.example.com/", "127.0.0.1:5302/"])
_tag = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))


@given(_host, st.lists(_comp, min_size=1, max_size=3), _tag)
def test_normalize_is_idempotent_and_familiar_round_trips(host: str, parts: list[str], tag: str | None) -> None:
    ref = host + "/".join(parts) + (f":{tag}" if tag else "")
    canon = reference.normalize(ref)
    assert reference.normalize(canon) == canon
    assert reference.normalize(reference.familiar(ref)) == canon
    assert canon.endswith(f":{tag or 'latest'}")
