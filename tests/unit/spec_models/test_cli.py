"""`pystack config` and `pystack graph` as a user runs them: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import write

STACK = """\
services:
  web: {image: nginx, depends_on: [api], ports: ["8080:80"]}
  api: {build: ./api, depends_on: {db: {condition: service_healthy}}, volumes: [data:/data]}
  db: {image: postgres, profiles: [db]}
  tool: {image: busybox, profiles: [tools]}
volumes:
  data: {}
networks:
  extra: {}
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli.main", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, STACK)
    return tmp_path


def test_config_yaml_and_quiet(project: Path) -> None:
    out = run(project, "config")
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(out.stdout)
    assert set(data["services"]) == {"web", "api", "db"}  # db is needed by api
    assert data["services"]["web"]["ports"][0] == {"target": 80, "published": "8080", "protocol": "tcp",
                                                   "mode": "ingress"}
    quiet = run(project, "config", "-q")
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_config_json_and_lists(project: Path) -> None:
    assert set(json.loads(run(project, "config", "--format", "json").stdout)["services"]) == {"web", "api", "db"}
    assert run(project, "config", "--services").stdout.split() == ["web", "api", "db"]
    assert run(project, "config", "--volumes").stdout.split() == ["data"]
    assert sorted(run(project, "config", "--networks").stdout.split()) == ["default", "extra"]
    assert run(project, "config", "--profiles").stdout.split() == ["db", "tools"]
    assert run(project, "config", "--images").stdout.split() == ["nginx", f"{project.name.lower()}-api", "postgres"]
    assert run(project, "--profile", "tools", "config", "--services").stdout.split() == ["web", "api", "db", "tool"]


def test_config_hash_and_output_file(project: Path) -> None:
    lines = run(project, "config", "--hash", "web,db").stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["web", "db"] and all(len(line.split()[1]) == 64 for line in lines)
    assert len(run(project, "config", "--hash", "*").stdout.splitlines()) == 3
    bad = run(project, "config", "--hash", "nope")
    assert bad.returncode == 1 and "no such service: nope" in bad.stderr
    out = run(project, "config", "-o", "out.yaml")
    assert out.returncode == 0 and yaml.safe_load((project / "out.yaml").read_text())["name"]


def test_no_interpolate(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  a:\n    image: ${IMG:-busybox}\n")
    assert "image: ${IMG:-busybox}" in run(tmp_path, "config", "--no-interpolate").stdout
    assert "image: busybox" in run(tmp_path, "config").stdout


@pytest.mark.parametrize("text", [
    "services:\n  a:\n    image: x\n    ports: ['80:abc']\n",
    "services: [1, 2]\n",
    "{{{{ not yaml",
    "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
    "\x00\x01binary",
    "services:\n  a:\n    image: x\n    mem_limit: {a: 1}\n    healthcheck: 5\n    ulimits: [1]\n",
])
def test_bad_files_exit_1_without_traceback(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    out = run(tmp_path, "config", "-q")
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    assert out.stderr.strip()


def test_graph_formats(project: Path) -> None:
    tree = run(project, "graph")
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.splitlines() == ["web", "└── api (depends_on)", "    └── db (depends_on)"]
    dot = run(project, "graph", "--format", "dot").stdout
    assert '"web" -> "api" [label="depends_on"];' in dot
    mermaid = run(project, "graph", "--format", "mermaid").stdout
    assert mermaid.startswith("graph TD") and "-->|depends_on|" in mermaid


def test_graph_svg(project: Path) -> None:
    import shutil

    if shutil.which("dot") is None:
        out = run(project, "graph", "--format", "svg", "-o", "g.svg")
        assert out.returncode == 1 and "Graphviz" in out.stderr
        return
    out = run(project, "graph", "--format", "svg", "-o", "g.svg")
    assert out.returncode == 0, out.stderr
    assert "<svg" in (project / "g.svg").read_text()


def test_config_path_does_not_import_networkx(project: Path) -> None:
    code = ("import sys\nfrom orchestrator.cli.main import main\n"
            "try:\n    main(['config', '-q'])\nexcept SystemExit:\n    pass\n"
            "print('networkx' in sys.modules, 'orchestrator.spec.models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_global_options_become_load_options() -> None:
    from orchestrator.cli.options import GlobalOptions
    from orchestrator.cli.stack_loading import load_options

    opts = load_options(GlobalOptions(files=["a.yaml"], project_name="p", project_directory="/d",
                                      profiles=["x"], env_files=["e"]), interpolate=False)
    assert (opts.files, opts.project_name, opts.project_directory, opts.profiles, opts.env_files,
            opts.interpolate) == (["a.yaml"], "p", "/d", ["x"], ["e"], False)


def test_config_no_normalize_prints_the_files_as_written_once_valid(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  web:\n    image: ${IMG:-busybox}:1\n    ports: ['8080:80']\n"
                    "    volumes: ['./data:/data']\n    depends_on: [db]\n  db: {image: busybox}\n"
                    "  other: {image: busybox}\n")
    write(tmp_path, "services:\n  web:\n    environment: [A=1]\n", name="compose.override.yaml")
    res = run(tmp_path, "config", "--no-normalize", "web")
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(res.stdout) == {
        "name": tmp_path.name.lower(),
        "services": {  # merged with the override and interpolated; short syntax, relative paths kept
            "web": {"image": "busybox:1", "ports": ["8080:80"], "volumes": ["./data:/data"],
                    "depends_on": ["db"], "environment": ["A=1"]},
            "db": {"image": "busybox"},  # what web needs, as the normalized output has it
        },
    }
    write(tmp_path, "services:\n  web:\n    image: busybox\n    networks: [nope]\n")
    bad = run(tmp_path, "config", "--no-normalize")
    assert bad.returncode == 1 and "compose.yaml:4:" in bad.stderr and "network 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_config_no_consistency_prints_what_refers_to_nothing(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  a:\n    image: x\n    networks: [nope]\n    depends_on: [b]\n"
                    "  b:\n    image: y\n    depends_on: [a]\n  c: {image: z}\n")
    strict = run(tmp_path, "config")
    assert strict.returncode == 1 and "network 'nope' is used but not declared" in strict.stderr
    res = run(tmp_path, "config", "--no-consistency", "a")
    assert res.returncode == 0, res.stderr
    out = yaml.safe_load(res.stdout)
    assert sorted(out["services"]) == ["a", "b"]  # a and what it needs, a cycle and all
    assert out["services"]["a"]["networks"] == {"nope": {}}
    written = yaml.safe_load(run(tmp_path, "config", "--no-consistency", "--no-normalize").stdout)
    assert written["services"]["a"] == {"image": "x", "networks": ["nope"], "depends_on": ["b"]}
    write(tmp_path, "services:\n  a:\n    image: x\n    mem_limit: lots\n")
    bad = run(tmp_path, "config", "--no-consistency")
    assert bad.returncode == 1 and "mem_limit" in bad.stderr  # each definition is still validated
