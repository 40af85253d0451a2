"""Random and mutated stack data: only SpecErrors (clean, one line each) may come out of build_stack."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import SpecErrors
from orchestrator.spec.models.support import SERVICE_KEYS

from .helpers import stack

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 70000), st.floats(allow_nan=False, width=16),
                    st.text(max_size=12), st.sampled_from(["80:80", "1m", "512m", "./a:/b", "a=b", "service:x"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)
service_specs = st.dictionaries(st.sampled_from(sorted(SERVICE_KEYS)), values, max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), service_specs, max_size=3),
       st.sampled_from([None, {}, {"n": None}, {"n": {"driver": 1}}, [1]]))
def test_random_services_give_clean_errors(services: dict[str, Any], networks: Any) -> None:
    try:
        stack({"services": services, "networks": networks, "volumes": {"v": None}})
    except SpecErrors as exc:
        for line in str(exc).splitlines():
            assert line and "pydantic" not in line and "Traceback" not in line


@settings(max_examples=60, deadline=None)
@given(values)
def test_random_documents(doc: Any) -> None:
    with contextlib.suppress(SpecErrors):
        stack(doc if isinstance(doc, dict) else {"services": doc})
