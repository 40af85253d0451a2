"""pre_start: each hook a container inheriting the service by Compose's override-file merge rules."""

from __future__ import annotations

from pathlib import Path

from orchestrator.spec.serialize import service_to_compose

from .helpers import load_errors, service, service_errors, stack, write


def test_a_hook_inherits_the_service_and_its_own_entries_win() -> None:
    svc = stack({"volumes": {"data": {}}, "services": {"svc": {
        "image": "app:1", "command": ["serve"], "user": "1000", "environment": {"A": "1", "B": "2"},
        "volumes": ["data:/data", "./conf:/conf:ro"], "extra_hosts": ["db=10.0.0.1"], "ports": ["80:80"],
        "restart": "always", "healthcheck": {"test": ["CMD", "true"]}, "container_name": "fixed",
        "labels": {"l": "1"},
        "pre_start": [
            {"command": "sh -c 'chown 1000 /data'", "user": "root", "environment": ["B=3", "C=4"],
             "volumes": ["./conf:/conf"], "extra_hosts": ["cache=10.0.0.2"]},
            {"image": "alpine", "per_replica": "true"},
        ],
    }}}).services["svc"]
    first, second = svc.pre_start
    run = first["service"]
    assert first["per_replica"] is False and second["per_replica"] is True
    assert run["image"] == "app:1" and run["user"] == "root"
    assert run["command"] == ["sh", "-c", "chown 1000 /data"]
    assert run["environment"] == {"A": "1", "B": "3", "C": "4"}
    mounts = {v["target"]: v for v in run["volumes"]}
    assert mounts["/data"]["source"] == "data" and mounts["/conf"]["read_only"] is False  # by target: its own
    assert sorted(h for h, _ in run["extra_hosts"]) == ["cache", "db"]
    assert run["labels"] == {"l": "1"}
    for key in ("ports", "container_name", "healthcheck", "pre_start"):  # a one-shot container has none
        assert not run.get(key)
    assert run["restart"] == {"condition": "no"} or run["restart"].get("condition") == "no"
    assert second["service"]["image"] == "alpine" and second["service"]["command"] == ["serve"]
    assert service_to_compose(svc)["pre_start"] == [
        {"command": "sh -c 'chown 1000 /data'", "user": "root", "environment": ["B=3", "C=4"],
         "volumes": ["./conf:/conf"], "extra_hosts": ["cache=10.0.0.2"]},
        {"image": "alpine", "per_replica": True},
    ]


def test_a_hook_of_a_built_service_runs_its_image_unless_it_names_one() -> None:
    svc = service({"image": None, "build": "./app", "pre_start": [{"command": "true"}, {"image": "alpine"}]},
                  name="web")
    assert svc.pre_start[0]["service"]["build"]["context"].endswith("/app")
    assert "image" not in svc.pre_start[0]["service"]
    assert "build" not in svc.pre_start[1]["service"]


def test_hooks_are_part_of_the_configuration() -> None:
    a = service({"pre_start": [{"command": "true"}]}).config_hash()
    b = service({"pre_start": [{"command": "false"}]}).config_hash()
    assert a != b != service({}).config_hash()


def test_every_bad_hook_is_reported_at_its_own_index_and_key() -> None:
    lines = service_errors({"pre_start": [
        {"command": "true", "ports": ["80:80"]}, {"per_replica": "maybe"}, {"volumes": 12}, {"bogus": 1},
        "echo", {"command": "fine"}, {"mem_limit": "lots"}]})
    assert lines == [
        "services.svc.pre_start[0].ports: not for a pre_start hook (a one-shot container): ports",
        "services.svc.pre_start[1].per_replica: invalid boolean 'maybe': must be true or false",
        "services.svc.pre_start[2].volumes: must be a list, not a number",
        "services.svc.pre_start[4]: a pre_start hook must be a mapping, not a string",
        'services.svc.pre_start[6].mem_limit: invalid size "lots": expected a number with an optional unit '
        '(b, k, m, g, t, p), e.g. "512m"',
        "services.svc.pre_start[3].bogus: unknown key",  # the model's, after the normalizer's
    ]
    assert service_errors({"pre_start": {"command": "x"}}) == [
        "services.svc.pre_start: must be a list of hooks (mappings), not a mapping"]


def test_errors_name_the_file_and_line_of_the_hook(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  s:\n    image: busybox\n    pre_start:\n      - command: ['true']\n"
                           "        restart: always\n")
    [line] = load_errors(path)
    assert line.startswith(f"{path}:6:") and "services.s.pre_start[0].restart: not for a pre_start hook" in line
