"""Network figures: wiring a container, published-port throughput and latency, DNS latency.

    python3 bench/network_bench.py [--quick] [--only TOOL[,TOOL]] [--runs N]

Everything happens inside a throwaway namespace ``nett-<hex>`` that stands in for the host (bridges,
host veths, the DNS server and the port proxy live there; containers are ``nt-<hex>`` namespaces;
addresses are 10.231.0.0/16 and 127.0.0.1:18500-18509 of that namespace), so the host's links,
firewall and sysctls are never touched. Figures:

  * wire one container (netns + veth + address + routes): pystack's driver vs podman's netavark
    (``ip netns add`` + ``netavark setup``, run inside the stand-in namespace);
  * TCP throughput (iperf3) and connection latency (connect + 1-byte echo) through a published
    port on 127.0.0.1: pystack's default (nftables DNAT, inside the stand-in namespace only) vs a
    direct connection to the container's address and vs pystack's userland proxy (``--ports proxy``);
  * DNS query latency (UDP, a service name) from a container to the stack's DNS server.

Prints a JSON list of figures {name, unit, pystack:{median,min,max,n}, peers:{...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from orchestrator.network import nsutil  # noqa: E402
from orchestrator.network.dns import register_dns  # noqa: E402
from orchestrator.network.driver import Attachment, NetworkDriver, NetworkSpec  # noqa: E402
from orchestrator.network.ports import PortBinding, register_ports  # noqa: E402
from orchestrator.network.service import ensure_service  # noqa: E402
from orchestrator.network.service_pid import stop_service  # noqa: E402
from orchestrator.paths import Paths  # noqa: E402

NETAVARK = "/usr/lib/podman/netavark"
NFT_PORT, PROXY_PORT, ECHO_PORT, IPERF_PORT = 18500, 18502, 7, 5201  # +1: the echo port


def summary(xs: list[float], failed: int = 0, errors: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "median": round(statistics.median(xs), 4) if xs else None,
        "min": round(min(xs), 4) if xs else None,
        "max": round(max(xs), 4) if xs else None,
        "n": len(xs),
        "failed": failed,
    }
    if errors:
        out["errors"] = errors[:3]
    return out


def sh(*cmd: str, inp: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=inp, capture_output=True, text=True, check=check, timeout=60)


def in_ns(ns: str, fn: Callable[[], Any]) -> Any:
    return nsutil.run_in(Path("/run/netns") / ns, fn)


# ---- wiring -------------------------------------------------------------------------------------


def wire_pystack(d: NetworkDriver, runs: int) -> list[float]:
    xs = []
    for _ in range(runs):
        c = f"nt-{secrets.token_hex(5)}"
        t0 = time.perf_counter()
        ns = d.create_netns(c, project="bench")
        d.attach(c, ns, [Attachment("bench_default")])
        xs.append((time.perf_counter() - t0) * 1000)
        d.detach(c)
        d.delete_netns(c)
    return xs


def wire_netavark(host: str, cfg: Path, runs: int) -> tuple[list[float], list[str]]:
    xs: list[float] = []
    errors: list[str] = []
    for i in range(runs + 1):
        name = f"nt-{secrets.token_hex(5)}"
        opts = json.dumps(
            {
                "container_id": secrets.token_hex(32),
                "container_name": name,
                "networks": {"bench": {"interface_name": "eth0", "static_ips": [f"10.231.200.{10 + i % 200}"]}},
                "network_info": {
                    "bench": {
                        "dns_enabled": False,
                        "driver": "bridge",
                        "id": "b" * 64,
                        "internal": False,
                        "ipv6_enabled": False,
                        "name": "bench",
                        "network_interface": "nvbench0",
                        "subnets": [{"gateway": "10.231.200.1", "subnet": "10.231.200.0/24"}],
                    }
                },
                "port_mappings": [],
            }
        )
        t0 = time.perf_counter()
        try:
            sh("ip", "netns", "add", name)
            sh("ip", "netns", "exec", host, NETAVARK, "--config", str(cfg), "setup", f"/run/netns/{name}", inp=opts)
            if i:  # the first run also creates the bridge and firewall chains: warm-up
                xs.append((time.perf_counter() - t0) * 1000)
        except subprocess.CalledProcessError as exc:
            errors.append((exc.stderr or str(exc)).strip()[:200])
        finally:
            sh(
                "ip",
                "netns",
                "exec",
                host,
                NETAVARK,
                "--config",
                str(cfg),
                "teardown",
                f"/run/netns/{name}",
                inp=opts,
                check=False,
            )
            sh("ip", "netns", "del", name, check=False)
    return xs, errors


# ---- traffic ------------------------------------------------------------------------------------


def echo_server(ns: str, port: int) -> socket.socket:
    srv: socket.socket = in_ns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(128)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(16)
                if data:
                    conn.sendall(data)

    threading.Thread(target=loop, daemon=True).start()
    return srv


def connect_latency(host_ns: str, addr: str, port: int, runs: int) -> list[float]:
    xs = []
    for _ in range(runs):
        s: socket.socket = in_ns(host_ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        s.settimeout(3)
        t0 = time.perf_counter()
        with s:
            s.connect((addr, port))
            s.sendall(b"x")
            s.recv(16)
        xs.append((time.perf_counter() - t0) * 1000)
    return xs


def iperf(host_ns: str, addr: str, port: int, seconds: int) -> float:
    res = sh("ip", "netns", "exec", host_ns, "iperf3", "-c", addr, "-p", str(port), "-t", str(seconds), "-J")
    data = json.loads(res.stdout)
    return float(data["end"]["sum_received"]["bits_per_second"]) / 1e9


def dns_latency(client_ns: str, server: str, runs: int) -> list[float]:
    from dnslib import DNSRecord

    q = DNSRecord.question("web").pack()
    s: socket.socket = in_ns(client_ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    s.settimeout(2)
    xs = []
    with s:
        for _ in range(runs):
            t0 = time.perf_counter()
            s.sendto(q, (server, 53))
            s.recv(512)
            xs.append((time.perf_counter() - t0) * 1000)
    return xs


def figure(name: str, unit: str, mine: dict[str, Any], peers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "unit": unit, "pystack": mine, "peers": peers}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/network_bench.py")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None)
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    runs = args.runs or (5 if args.quick else 30)
    host = f"nett-{secrets.token_hex(4)}"
    tmp = Path(tempfile.mkdtemp(prefix="netbench-"))
    sh("ip", "netns", "add", host)
    sh("ip", "-n", host, "link", "set", "lo", "up")
    d = NetworkDriver(Paths(tmp / "root"), host_netns=host, pool="10.231.0.0/16")
    figures: list[dict[str, Any]] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        d.ensure_network(NetworkSpec(name="bench_default", project="bench"))
        wire_pystack(d, 2)
        mine = wire_pystack(d, runs)
        peers: dict[str, dict[str, Any]] = {}
        if (only is None or "podman" in only) and os.path.exists(NETAVARK):
            cfg = tmp / "netavark"
            cfg.mkdir()
            xs, errs = wire_netavark(host, cfg, runs)
            peers["podman"] = summary(xs, len(errs), errs) | {"note": "ip netns add + netavark setup"}
        figures.append(figure("network: wire one container (netns+veth+address+routes)", "ms", summary(mine), peers))

        web = f"nt-{secrets.token_hex(5)}"
        client = f"nt-{secrets.token_hex(5)}"
        ep = d.attach(web, d.create_netns(web, project="bench"), [Attachment("bench_default")])[0]
        d.attach(client, d.create_netns(client, project="bench"), [Attachment("bench_default")])
        register_dns(d.conn, "bench", "bench_default", ["web"], ep.address, web)
        for project, port, mode in (("bench", NFT_PORT, "nft"), ("benchp", PROXY_PORT, "proxy")):
            bindings = [
                PortBinding("127.0.0.1", port, ep.address, IPERF_PORT),
                PortBinding("127.0.0.1", port + 1, ep.address, ECHO_PORT),
            ]
            register_ports(d.conn, project, "web", web, "bench-web-1", bindings)
            ensure_service(d.paths, project, host_netns=host, resolv_conf=str(tmp / "none"), ports=mode)
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", web, "iperf3", "-s", "-p", str(IPERF_PORT)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        echo = echo_server(web, ECHO_PORT)
        time.sleep(0.3)
        if os.environ.get("NETBENCH_DEBUG"):
            print(sh("ip", "netns", "exec", host, "nft", "list", "ruleset").stdout, ep, file=sys.stderr)
        lat_runs = runs * 10
        lat = {
            "pystack": connect_latency(host, "127.0.0.1", NFT_PORT + 1, lat_runs),
            "direct": connect_latency(host, ep.address, ECHO_PORT, lat_runs),
            "pystack-proxy": connect_latency(host, "127.0.0.1", PROXY_PORT + 1, lat_runs),
        }
        # Runs of 1 s: veths at loopback speed leave slow start within milliseconds, and the rule's
        # warm-up plus 5 counted runs per path beat fewer longer ones on a shared machine.
        secs = 1
        tput: dict[str, list[float]] = {"pystack": [], "direct": [], "pystack-proxy": []}
        for rep in range(1 + (3 if args.quick else 5)):
            got = {
                "pystack": iperf(host, "127.0.0.1", NFT_PORT, secs),
                "direct": iperf(host, ep.address, IPERF_PORT, secs),
                "pystack-proxy": iperf(host, "127.0.0.1", PROXY_PORT, secs),
            }
            if rep:  # the first repetition is the warm-up
                for path, gbit in got.items():
                    tput[path].append(gbit)
        figures.append(
            figure(
                "network: published port connect+echo latency",
                "ms",
                summary(lat["pystack"]),
                {"direct": summary(lat["direct"]), "pystack-proxy": summary(lat["pystack-proxy"])},
            )
        )
        figures.append(
            figure(
                "network: published port TCP throughput (iperf3)",
                "Gbit/s",
                summary(tput["pystack"]),
                {"direct": summary(tput["direct"]), "pystack-proxy": summary(tput["pystack-proxy"])},
            )
        )
        figures.append(
            figure(
                "network: DNS query latency (service name, UDP)",
                "ms",
                summary(dns_latency(client, ep.gateway, runs * 20)),
                {},
            )
        )
        echo.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for project in ("bench", "benchp"):
            stop_service(d.paths, project)
            d.cleanup_stack(project)
        d.close()
        sh("ip", "netns", "del", host, check=False)
        if not os.environ.get("NETBENCH_KEEP"):
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
