"""The network stage's tables in the shared state database.

Every kernel object the driver makes is written here *before* it is made, so after a crash the
next run can find it by name and finish or remove it. An endpoint row is also the address lease:
``UNIQUE(network, address)`` is what makes IPAM safe across processes.
"""

from __future__ import annotations

from orchestrator.state.db import register_schema

DDL = """
CREATE TABLE IF NOT EXISTS net_networks (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    bridge TEXT NOT NULL UNIQUE,
    subnet TEXT NOT NULL UNIQUE,
    gateway TEXT NOT NULL,
    ip_range TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    mtu INTEGER,
    labels TEXT NOT NULL DEFAULT '{}',
    next_ip INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'creating',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS net_netns (
    container_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    project TEXT,
    status TEXT NOT NULL DEFAULT 'creating'
);
CREATE TABLE IF NOT EXISTS net_endpoints (
    container_id TEXT NOT NULL,
    network TEXT NOT NULL,
    project TEXT,
    interface TEXT NOT NULL,
    host_veth TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    prefixlen INTEGER NOT NULL,
    gateway TEXT NOT NULL,
    mac TEXT,
    status TEXT NOT NULL DEFAULT 'creating',
    PRIMARY KEY (container_id, network),
    UNIQUE (network, address)
);
CREATE INDEX IF NOT EXISTS net_endpoints_project ON net_endpoints(project);
CREATE TABLE IF NOT EXISTS net_dns_records (
    project TEXT NOT NULL,
    network TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    container_id TEXT NOT NULL,
    only_for TEXT
);
CREATE INDEX IF NOT EXISTS net_dns_lookup ON net_dns_records(project, name);
CREATE INDEX IF NOT EXISTS net_dns_container ON net_dns_records(container_id);
CREATE TABLE IF NOT EXISTS net_ports (
    project TEXT NOT NULL,
    service TEXT NOT NULL,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_ip TEXT NOT NULL,
    container_port INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    UNIQUE (host_ip, host_port, protocol)
);
CREATE INDEX IF NOT EXISTS net_ports_project ON net_ports(project);
"""

register_schema("network", DDL)
