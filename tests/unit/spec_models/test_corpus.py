"""The corpus judged by pystack and by the official Compose JSON Schema: they must agree.

A file pystack refuses while the schema accepts it is allowed only when listed in STRICTER with the
reason — checks the schema cannot express (references, uniqueness, value mini-languages, cycles).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema.validators import validator_for

from orchestrator.errors import PystackError
from tests.helpers.shared import SHARED

from .helpers import load_file

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.yaml"))
SCHEMA = json.loads(Path(SHARED, "compose-spec/schema/compose-spec.json").read_text())
VALIDATOR = validator_for(SCHEMA)(SCHEMA)

STRICTER = {
    "invalid/ports-bad-string.yaml": "port syntax is a string format the schema does not check",
    "invalid/no-image.yaml": "a service needs an image or a build (Compose's consistency check)",
    "invalid/undefined-dependency.yaml": "cross-reference to an unknown service",
    "invalid/undeclared-network.yaml": "network used but not declared",
    "invalid/undeclared-volume.yaml": "named volume used but not declared",
    "invalid/undeclared-secret.yaml": "secret used but not declared",
    "invalid/duplicate-container-name.yaml": "container names must be unique",
    "invalid/duplicate-host-port.yaml": "a host port published twice (through a range)",
    "invalid/container-name-scale.yaml": "one container name cannot name several replicas",
    "invalid/cycle.yaml": "dependency cycle",
    "invalid/self-dependency.yaml": "self-dependency",
    "invalid/bad-duration.yaml": "duration is a string format the schema does not check",
    "invalid/bad-size.yaml": "size is a string the schema does not check",
    "invalid/npipe.yaml": "Windows named pipes cannot exist on Linux",
    "invalid/resource-conflict.yaml": "mem_limit and deploy.resources.limits.memory disagree",
    "invalid/scale-replicas-conflict.yaml": "scale and deploy.replicas disagree",
    "invalid/restart-bad.yaml": "restart is a free string in the schema",
    "invalid/network-mode-and-networks.yaml": "network_mode excludes networks (Compose refuses it at run time)",
}
LINE = re.compile(r"^invalid/[\w.-]+\.yaml:\d+:\d+: [^:]+: .+")


def test_corpus_size() -> None:
    assert len(FILES) >= 60
    assert sum(f.startswith("valid/") for f in FILES) >= 30 and sum(f.startswith("invalid/") for f in FILES) >= 30


@pytest.mark.parametrize("name", FILES)
def test_same_judgement(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    data = yaml.safe_load((CORPUS / name).read_text())
    schema_ok = not list(VALIDATOR.iter_errors(data))
    try:
        load_file(Path(name))
        ours_ok, message = True, ""
    except PystackError as exc:
        ours_ok, message = False, str(exc)
    expected = name.startswith("valid/")
    assert ours_ok == expected, message
    if name in STRICTER:
        assert schema_ok and not ours_ok, "listed as stricter but the schema agrees: drop it from STRICTER"
    else:
        assert schema_ok == ours_ok, f"the official schema says {schema_ok}, pystack says {ours_ok}: {message}"
    if not ours_ok:
        for line in message.splitlines():
            assert LINE.match(line) or line.startswith("invalid/"), line
