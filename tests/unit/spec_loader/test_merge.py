"""Merging several -f files by the Compose merge rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.spec_loader.helpers import load


def merged(tmp_path: Path, base: str, override: str) -> dict[str, Any]:
    p = load(tmp_path, {"a.yaml": base, "b.yaml": override}, "a.yaml", "b.yaml")
    return p.data["services"]["s"]  # type: ignore[no-any-return]


def test_mappings_merge_and_scalars_override(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    image: a\n    deploy: {replicas: 1, labels: {x: '1'}}\n",
        "services:\n  s:\n    image: b\n    deploy: {mode: replicated}\n",
    )
    assert s == {"image": "b", "deploy": {"replicas": 1, "labels": {"x": "1"}, "mode": "replicated"}}


def test_plain_sequences_append(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    security_opt: [a]\n    dns: [1.1.1.1]\n",
        "services:\n  s:\n    security_opt: [b]\n    dns: [8.8.8.8, 1.1.1.1]\n",
    )
    assert s["security_opt"] == ["a", "b"]
    assert s["dns"] == ["1.1.1.1", "8.8.8.8"]


def test_commands_are_replaced(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    command: [echo, foo]\n    entrypoint: [sh]\n"
        "    healthcheck: {test: [CMD, a], retries: 3}\n",
        "services:\n  s:\n    command: [echo, bar]\n    entrypoint: [bash]\n    healthcheck: {test: [CMD, b]}\n",
    )
    assert s["command"] == ["echo", "bar"]
    assert s["entrypoint"] == ["bash"]
    assert s["healthcheck"] == {"test": ["CMD", "b"], "retries": 3}


def test_ports_unique_by_ip_published_target_protocol(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    ports: ['80:80', '127.0.0.1:53:53/udp', {target: 90, published: '9090'}]\n",
        "services:\n  s:\n    ports: ['80:80', '53:53/udp', {target: 90, published: '9090', protocol: tcp},"
        " '443:443']\n",
    )
    assert s["ports"] == [
        "80:80",
        "127.0.0.1:53:53/udp",
        {"target": 90, "published": "9090", "protocol": "tcp"},
        "53:53/udp",
        "443:443",
    ]


def test_volumes_unique_by_target(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    volumes: ['./a:/data', 'logs:/logs', /anon]\n",
        "services:\n  s:\n    volumes: ['./b:/data:ro', {type: volume, source: x, target: /logs}, /other]\n",
    )
    assert s["volumes"] == ["./b:/data:ro", {"type": "volume", "source": "x", "target": "/logs"}, "/anon", "/other"]


def test_secrets_and_configs_unique_by_target(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    secrets: [a, {source: b, target: /x}]\n    configs: [c]\n",
        "services:\n  s:\n    secrets: [{source: a, mode: 0400}, {source: z, target: /x}]\n"
        "    configs: [{source: c}]\n",
    )
    assert s["secrets"] == [{"source": "a", "mode": 0o400}, {"source": "z", "target": "/x"}]
    assert s["configs"] == [{"source": "c"}]


def test_environment_and_labels_merge_as_maps(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    environment: [A=1, B=2, C]\n    labels: {x: '1'}\n",
        "services:\n  s:\n    environment: {B: '3', D: '4'}\n    labels: [y=2, x=3]\n",
    )
    assert s["environment"] == {"A": "1", "B": "3", "C": None, "D": "4"}
    assert s["labels"] == {"x": "3", "y": "2"}


def test_expose_and_dns_search_are_unions(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    expose: ['80', '81']\n    dns_search: [a]\n    cap_add: [NET_ADMIN]\n",
        "services:\n  s:\n    expose: ['81', '82']\n    dns_search: [a, b]\n    cap_add: [NET_ADMIN, SYS_TIME]\n",
    )
    assert s["expose"] == ["80", "81", "82"]
    assert s["dns_search"] == ["a", "b"]
    assert s["cap_add"] == ["NET_ADMIN", "SYS_TIME"]


def test_depends_on_list_and_map(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    depends_on: [db]\n",
        "services:\n  s:\n    depends_on: {cache: {condition: service_healthy}}\n",
    )
    assert s["depends_on"] == {
        "db": {"condition": "service_started", "required": True},
        "cache": {"condition": "service_healthy"},
    }


def test_networks_list_and_map(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    networks: [front]\n",
        "services:\n  s:\n    networks: {back: {aliases: [b]}}\n",
    )
    assert s["networks"] == {"front": None, "back": {"aliases": ["b"]}}


def test_build_short_and_long(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    build: ./app\n",
        "services:\n  s:\n    build: {dockerfile: Other, args: [A=1]}\n",
    )
    assert s["build"] == {"context": "./app", "dockerfile": "Other", "args": ["A=1"]}


def test_logging_driver_change_replaces(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    logging: {driver: json-file, options: {max-size: 1m}}\n",
        "services:\n  s:\n    logging: {driver: syslog}\n",
    )
    assert s["logging"] == {"driver": "syslog"}


def test_ulimits(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 10}\n",
        "services:\n  s:\n    ulimits: {nofile: 5, nproc: {soft: 1, hard: 2}}\n",
    )
    assert s["ulimits"] == {"nofile": 5, "nproc": {"soft": 1, "hard": 2}}


def test_reset_removes_and_override_replaces(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    image: a\n    ports: ['80:80']\n    environment: {A: '1', B: '2'}\n    command: [x]\n",
        "services:\n  s:\n    ports: !reset []\n    environment: !override {C: '3'}\n    command: !reset null\n",
    )
    assert s == {"image": "a", "environment": {"C": "3"}}


def test_reset_without_base_leaves_nothing(tmp_path: Path) -> None:
    p = load(tmp_path, {"a.yaml": "services:\n  s:\n    image: a\n    ports: !reset ['1:1']\n"}, "a.yaml")
    assert p.data["services"]["s"] == {"image": "a"}


def test_positions_come_from_the_file_that_supplied_the_value(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "a.yaml": "services:\n  s:\n    image: a\n    ports: ['80:80']\n",
            "b.yaml": "services:\n  s:\n    ports:\n      - '81:81'\n    user: x\n",
        },
        "a.yaml",
        "b.yaml",
    )
    a = p.positions.get(("services", "s", "image"))
    b = p.positions.get(("services", "s", "ports", 1))
    u = p.positions.get(("services", "s", "user"))
    assert a is not None and a.file.endswith("a.yaml") and a.line == 3
    assert b is not None and b.file.endswith("b.yaml") and b.line == 4
    assert u is not None and u.file.endswith("b.yaml") and u.line == 5


def test_top_level_sections_and_new_services(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "a.yaml": "services:\n  s: {image: a}\nnetworks:\n  n: {driver: bridge}\nx-a: {k: 1}\n",
            "b.yaml": "services:\n  t: {image: b}\nnetworks:\n  n: {labels: [a=b]}\n  m:\nx-a: {j: 2}\n",
        },
        "a.yaml",
        "b.yaml",
    )
    assert set(p.data["services"]) == {"s", "t"}
    assert p.data["networks"] == {"n": {"driver": "bridge", "labels": ["a=b"]}, "m": None}
    assert p.data["x-a"] == {"k": 1, "j": 2}


def test_null_service_is_an_empty_one(tmp_path: Path) -> None:
    p = load(tmp_path, {"a.yaml": "services:\n  s:\n", "b.yaml": "services:\n  s:\n    image: x\n"}, "a.yaml", "b.yaml")
    assert p.data["services"]["s"] == {"image": "x"}
    p = load(tmp_path, {"c.yaml": "services:\n  s:\n"}, "c.yaml")
    assert p.data["services"]["s"] == {}


def test_more_attribute_rules(tmp_path: Path) -> None:
    s = merged(
        tmp_path,
        "services:\n  s:\n    extra_hosts: ['a:1.1.1.1']\n    env_file: a.env\n    tmpfs: /run\n"
        "    build: {context: ., args: {A: '1'}}\n    deploy: {labels: [x=1]}\n"
        "    networks: {n: {aliases: [one]}}\n    label_file: l1\n    devices: ['/dev/a:/dev/x']\n",
        "services:\n  s:\n    extra_hosts: {b: 2.2.2.2, a: 3.3.3.3}\n    env_file: [a.env, b.env]\n"
        "    tmpfs: [/run, /tmp]\n    build: {args: [B=2, A=3]}\n    deploy: {labels: {y: '2'}}\n"
        "    networks: {n: {aliases: [one, two]}}\n    label_file: [l2]\n    devices: ['/dev/b:/dev/x']\n",
    )
    assert s["extra_hosts"] == {"a": "3.3.3.3", "b": "2.2.2.2"}
    assert s["env_file"] == ["a.env", "b.env"]
    assert s["tmpfs"] == ["/run", "/tmp"]
    assert s["build"] == {"context": ".", "args": {"A": "3", "B": "2"}}
    assert s["deploy"] == {"labels": {"x": "1", "y": "2"}}
    assert s["networks"] == {"n": {"aliases": ["one", "two"]}}
    assert s["label_file"] == ["l1", "l2"]
    assert s["devices"] == ["/dev/b:/dev/x"]


def test_ipam_config_by_subnet(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "a.yaml": "networks:\n  n:\n    ipam:\n      config:\n"
            "        - {subnet: 10.0.0.0/24, gateway: 10.0.0.1}\n        - {subnet: 10.1.0.0/24}\n",
            "b.yaml": "networks:\n  n:\n    ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.254}]}\n",
        },
        "a.yaml",
        "b.yaml",
    )
    assert p.data["networks"]["n"]["ipam"]["config"] == [
        {"subnet": "10.0.0.0/24", "gateway": "10.0.0.254"},
        {"subnet": "10.1.0.0/24"},
    ]


def test_three_files_apply_in_order(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "a.yaml": "services:\n  s: {image: a, ports: ['1:1']}\n",
            "b.yaml": "services:\n  s: {ports: !reset []}\n",
            "c.yaml": "services:\n  s: {ports: ['3:3']}\n",
        },
        "a.yaml",
        "b.yaml",
        "c.yaml",
    )
    assert p.data["services"]["s"] == {"image": "a", "ports": ["3:3"]}


def test_deepest_allowed_documents_merge(tmp_path: Path) -> None:
    from orchestrator.spec.yaml_loader import MAX_DEPTH

    depth = MAX_DEPTH - 2
    files = {n: "x: " + "{a: " * depth + v + "}" * depth + "\n" for n, v in (("a.yaml", "1"), ("b.yaml", "2"))}
    p = load(tmp_path, files, "a.yaml", "b.yaml")
    node = p.data["x"]
    for _ in range(depth):
        node = node["a"]
    assert node == 2
