"""mem_limit/cpus/pids_limit and deploy.resources reconciled into one resource model; ulimits; blkio."""

from __future__ import annotations

from .helpers import service, service_errors


def test_service_keys() -> None:
    r = service({"mem_limit": "512m", "memswap_limit": "1g", "cpus": "1.5", "pids_limit": 100, "shm_size": "64m",
                 "cpu_shares": 512, "oom_score_adj": -500, "mem_reservation": "1.5g"}).resources
    assert (r.memory_limit, r.memswap_limit, r.cpus, r.pids_limit, r.shm_size) == (
        512 * 1024**2, 1024**3, 1.5, 100, 64 * 1024**2)
    assert (r.cpu_shares, r.oom_score_adj, r.memory_reservation) == (512, -500, int(1.5 * 1024**3))


def test_deploy_resources_same_meaning_same_hash() -> None:
    a = service({"mem_limit": "256m", "cpus": 0.5, "pids_limit": 10})
    b = service({"deploy": {"resources": {"limits": {"memory": "256M", "cpus": "0.5", "pids": 10}}}})
    assert a.resources == b.resources and a.config_hash() == b.config_hash()


def test_conflict_is_an_error() -> None:
    [line] = service_errors({"mem_limit": "256m", "deploy": {"resources": {"limits": {"memory": "512m"}}}})
    assert "mem_limit" in line and "deploy.resources.limits.memory" in line


def test_ulimits() -> None:
    r = service({"ulimits": {"nproc": 65535, "nofile": {"soft": 20000, "hard": 40000}}}).resources
    assert r.ulimits == {"nproc": (65535, 65535), "nofile": (20000, 40000)}


def test_bad_ulimit() -> None:
    [line] = service_errors({"ulimits": {"nofile": {"soft": 10, "hard": 5}}})
    assert line.startswith("services.svc.ulimits.nofile: ulimit nofile: soft limit 10 is above hard limit 5")


def test_blkio() -> None:
    spec = {"blkio_config": {"weight": 300, "device_read_bps": [{"path": "/dev/sda", "rate": "12mb"}]}}
    b = service(spec).resources.blkio
    assert b is not None and b.weight == 300 and b.device_read_bps[0].rate == 12 * 1024**2


def test_bad_size_located() -> None:
    [line] = service_errors({"mem_limit": "lots"})
    assert line.startswith('services.svc.mem_limit: invalid size "lots"')
