"""A stack file's services become the plans the lifecycle code runs: names, limits, mounts, networks."""

from __future__ import annotations

from pathlib import Path

from orchestrator.reconcile import translate
from orchestrator.spec.models import Stack
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import load_stack


def _stack(tmp_path: Path, text: str) -> Stack:
    (tmp_path / "compose.yaml").write_text(text)
    return load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ={}))


def test_limits_names_mounts_and_networks(tmp_path: Path) -> None:
    stack = _stack(tmp_path, """
name: shop
services:
  api:
    build: ./api
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 20
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    volumes: [data:/data, ./conf:/etc/conf:ro, {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}]
    networks: {back: {aliases: [b1], priority: 5}, front: {}}
    security_opt: ["no-new-privileges:true"]
    restart: on-failure:3
    healthcheck: {test: ["CMD", "true"], interval: 2s}
    stop_grace_period: 1m30s
  side:
    image: busybox:latest
    network_mode: "service:api"
volumes: {data: {}}
networks: {back: {}, front: {}}
""")
    sp = translate.service_plan(stack, stack.services["api"], "sha256:abc")
    assert sp.image == "shop-api"
    assert sp.container_name_for(2) == "shop-api-2"
    assert sp.resources == {"memory": {"limit": 64 * 1024**2}, "cpu": {"period": 100_000, "quota": 50_000},
                            "pids": {"limit": 20}}
    assert sp.rlimits == {"nofile": (1024, 2048)}
    kinds = {(m.type, m.source, m.target, m.read_only) for m in sp.mounts}
    assert ("volume", "shop_data", "/data", False) in kinds
    assert ("bind", str(tmp_path / "conf"), "/etc/conf", True) in kinds
    assert next(m for m in sp.mounts if m.type == "tmpfs").tmpfs_size == 1024**2
    assert [n.network for n in sp.networks] == ["shop_back", "shop_front"]  # priority order
    assert sp.networks[0].aliases == ("b1",)
    assert sp.no_new_privileges
    assert (sp.restart.condition, sp.restart.max_attempts) == ("on-failure", 3)
    assert sp.healthcheck is not None and sp.healthcheck.interval == 2.0
    assert sp.stop_grace_period == 90.0
    side = translate.service_plan(stack, stack.services["side"])
    assert side.networks == [] and side.network_mode == "service:api"
    assert side.depends_on["api"]["restart"] is True


def test_config_hash_follows_the_image(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "services:\n  a:\n    image: busybox:latest\n")
    svc = stack.services["a"]
    assert translate.service_plan(stack, svc, "sha256:1").config_hash != translate.service_plan(
        stack, svc, "sha256:2").config_hash
    assert translate.service_plan(stack, svc, "sha256:1").config_hash == translate.service_plan(
        stack, svc, "sha256:1").config_hash


def test_what_the_hash_covers_beyond_the_file_names_the_recreate(tmp_path: Path) -> None:
    """A new image digest or an edited seccomp profile changes the hash and is named as the reason."""
    import json

    from orchestrator.plan.diff import changed_paths, summarize

    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    stack = _stack(tmp_path, "services:\n  a:\n    image: busybox\n    security_opt: ['seccomp=./p.json']\n")
    svc = stack.services["a"]
    before = translate.service_plan(stack, svc, "sha256:1111")
    rebuilt = translate.service_plan(stack, svc, "sha256:2222")
    assert rebuilt.config_hash != before.config_hash
    assert summarize(changed_paths(before.spec, rebuilt.spec)) == "image digest changed"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_LOG"}))
    edited = translate.service_plan(stack, svc, "sha256:1111")
    assert edited.config_hash != before.config_hash
    assert summarize(changed_paths(before.spec, edited.spec)) == "seccomp profile changed"
    assert translate.service_plan(stack, svc, "sha256:1111").config_hash == edited.config_hash  # stable


def test_the_image_healthcheck_completes_the_service_s(tmp_path: Path) -> None:
    """``healthcheck: {interval: 1s}`` keeps the image's test; the plan (and so the gate and the
    supervisor) gets the merged check, and a change on either side recreates."""
    stack = _stack(tmp_path, "services:\n  a:\n    image: busybox\n    healthcheck: {interval: 1s}\n"
                             "  b:\n    image: busybox\n")
    image = {"Test": ["CMD-SHELL", "test -e /tmp/ok"], "Interval": 30_000_000_000, "Retries": 2}
    a = translate.service_plan(stack, stack.services["a"], "sha256:1", image)
    assert a.healthcheck is not None
    assert (a.healthcheck.test, a.healthcheck.interval, a.healthcheck.retries) == (
        ("CMD-SHELL", "test -e /tmp/ok"), 1.0, 2)
    b = translate.service_plan(stack, stack.services["b"], "sha256:1", image)
    assert b.healthcheck is not None and b.healthcheck.interval == 30.0
    assert translate.service_plan(stack, stack.services["b"], "sha256:1").healthcheck is None
    edited = _stack(tmp_path, "services:\n  a:\n    image: busybox\n    healthcheck: {interval: 2s}\n")
    assert translate.service_plan(edited, edited.services["a"], "sha256:1", image).config_hash != a.config_hash
    rebuilt = translate.service_plan(stack, stack.services["a"], "sha256:2", {**image, "Retries": 5})
    assert rebuilt.config_hash != a.config_hash
