"""Which Compose service keys pystack honours, warns about, or refuses — the one list.

The loader warns (one line naming the key) when a "warned" key is used, the reference document
``docs/stack-file-reference.md`` is generated from this table, and a test checks it covers every
service key of the official Compose schema.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Status = Literal["supported", "warned", "refused"]


class KeySupport(NamedTuple):
    status: Status
    note: str = ""


S = KeySupport
SERVICE_KEYS: dict[str, KeySupport] = {
    "annotations": S("supported", "OCI annotations of the container"),
    "attach": S("supported", "whether `up` follows the service's logs"),
    "blkio_config": S("supported", "into the resource model; needs the blkio/io controller"),
    "build": S("supported", "a string becomes `{context}`; context made absolute; `context`, `dockerfile`, "
               "`dockerfile_inline`, `args`, `target`, `labels`, `network` (default, host or none), `no_cache`, "
               "`tags`, `secrets` (for `RUN --mount=type=secret`), `additional_contexts` (directories and "
               "`docker-image://`), `ssh` (agents for `RUN --mount=type=ssh`: `default`, a socket or key "
               "files) and `pull_policy: build` apply; `cache_from`, `cache_to`, `platforms` and the other "
               "keys load with a warning naming them"),
    "cap_add": S("supported"),
    "cap_drop": S("supported"),
    "cgroup": S("supported", "`host` or `private` cgroup namespace"),
    "cgroup_parent": S("supported", "the container's cgroup is made under it; no `..`"),
    "command": S("supported", "a string is split like a POSIX shell"),
    "configs": S("supported", "short form becomes `{source}`; a read-only copy at `/<name>` (or `target`) with "
                              "`uid`, `gid`, `mode` (default 0444)"),
    "container_name": S("supported", "an error with scale > 1"),
    "cpu_count": S("warned", "Windows only"),
    "cpu_percent": S("warned", "Windows only"),
    "cpu_period": S("supported"),
    "cpu_quota": S("supported"),
    "cpu_rt_period": S("warned", "real-time scheduling is not set up"),
    "cpu_rt_runtime": S("warned", "real-time scheduling is not set up"),
    "cpu_shares": S("supported"),
    "cpus": S("supported", "reconciled with deploy.resources.limits.cpus"),
    "cpuset": S("supported"),
    "credential_spec": S("warned", "Windows only"),
    "depends_on": S("supported", "a list becomes `{condition: service_started, required: true}`"),
    "deploy": S("supported", "replicas, resources and restart_policy; Swarm placement/update keys warn"),
    "develop": S("supported", "`watch` rules for `pystack watch`: sync, sync+restart, sync+exec, restart, "
                             "rebuild, with ignore, include and initial_sync"),
    "device_cgroup_rules": S("supported", "`TYPE MAJOR:MINOR ACCESS` allow rules after Docker's default deny-all "
                                                 "(the v1 devices controller)"),
    "devices": S("supported", "`HOST[:CONTAINER[:PERMS]]` becomes the long form; the node and a cgroup rule "
                              "with PERMS; a directory maps the devices in it; CDI names are refused"),
    "dns": S("supported"),
    "dns_opt": S("supported"),
    "dns_search": S("supported"),
    "domainname": S("supported"),
    "entrypoint": S("supported", "a string is split like a POSIX shell"),
    "env_file": S("supported", "contents merged into environment; the service's own environment wins"),
    "environment": S("supported", "a list becomes a mapping; `KEY` alone takes the shell's value"),
    "expose": S("supported"),
    "extends": S("supported", "resolved by the loader"),
    "external_links": S("warned", "containers outside the stack are not linked"),
    "extra_hosts": S("supported", "normalized to (host, ip) pairs"),
    "gpus": S("warned", "GPU devices are not passed through"),
    "group_add": S("supported", "names from the image's /etc/group, numbers as they are; exec'd processes too"),
    "healthcheck": S("supported", "fields left out come from the image's HEALTHCHECK, then Docker's "
                     "defaults (30s, 30s, 3, 0s, 5s)"),
    "hostname": S("supported"),
    "image": S("supported"),
    "init": S("supported"),
    "ipc": S("supported", "host (with the host's /dev/shm), shareable, private, none (no /dev/shm), "
                          "`service:x`/`container:x` (joined anew at each start, so it follows x's restarts, "
                          "and sharing x's /dev/shm when x is shareable or a service of the stack; adds a "
                          "dependency; a private or none donor is refused)"),
    "isolation": S("warned", "Windows only"),
    "label_file": S("supported", "contents merged into labels; `labels` wins"),
    "labels": S("supported", "a list becomes a mapping"),
    "links": S("supported", "becomes {service: alias}; adds a dependency"),
    "logging": S("supported", "json-file and local drivers; others warn at run time"),
    "mac_address": S("supported"),
    "mem_limit": S("supported", "reconciled with deploy.resources.limits.memory"),
    "mem_reservation": S("supported", "reconciled with deploy.resources.reservations.memory"),
    "mem_swappiness": S("supported"),
    "memswap_limit": S("supported"),
    "models": S("warned", "AI models are not provided"),
    "network_mode": S("supported", "`service:x` adds a dependency"),
    "networks": S("supported", "a list becomes a mapping; `default` implied"),
    "oom_kill_disable": S("supported"),
    "oom_score_adj": S("supported"),
    "pid": S("supported", "host, `service:x`/`container:x` (joined anew at each start, so it follows x's "
                          "restarts; adds a dependency)"),
    "pids_limit": S("supported", "reconciled with deploy.resources.limits.pids"),
    "platform": S("supported"),
    "ports": S("supported", "short syntax and ranges become one long entry per port"),
    "post_start": S("supported", "an exec after each start by a command (not after a restart by the policy); "
                                 "a failed hook stops the container and fails the command"),
    "pre_start": S("supported", "one-shot containers inheriting the service, run in order before its new "
                                "containers first start, once per service unless `per_replica`; a failed hook "
                                "leaves them created and fails the command"),
    "pre_stop": S("supported", "an exec before each stop by a command, within the stop's grace period "
                               "(`-t 0`: none); a failed or overrunning hook aborts the stop, the command fails"),
    "privileged": S("supported"),
    "profiles": S("supported"),
    "provider": S("warned", "provider services are not managed"),
    "pull_policy": S("supported"),
    "pull_refresh_after": S("warned", "images are not refreshed on a schedule"),
    "read_only": S("supported"),
    "restart": S("supported", "reconciled with deploy.restart_policy"),
    "runtime": S("supported", "pystack, crun or runc"),
    "scale": S("supported", "reconciled with deploy.replicas"),
    "secrets": S("supported", "short form becomes `{source}`; a read-only copy at `/run/secrets/<name>` (or "
                              "`target`) with `uid`, `gid`, `mode` (default 0444)"),
    "security_opt": S("supported", "no-new-privileges, seccomp (unconfined or a profile file); "
                                   "apparmor, label, systempaths and writable-cgroups are warned"),
    "shm_size": S("supported"),
    "stdin_open": S("supported"),
    "stop_grace_period": S("supported", "a duration, in seconds"),
    "stop_signal": S("supported", "unset: the image's STOPSIGNAL, else SIGTERM"),
    "storage_opt": S("warned", "overlay size quotas are not applied"),
    "sysctls": S("supported", "a list becomes a mapping"),
    "tmpfs": S("supported"),
    "tty": S("supported"),
    "ulimits": S("supported", "a number becomes (soft, hard)"),
    "use_api_socket": S("warned", "there is no engine API socket"),
    "user": S("supported"),
    "userns_mode": S("supported", "`host` only: pystack never remaps users"),
    "uts": S("supported", "`host` only; not together with `hostname`"),
    "volumes": S("supported", "short syntax to long; bind sources absolute; npipe refused; a path alone, and "
                               "each image `VOLUME`, gets an anonymous volume that a recreated container keeps"),
    "volumes_from": S("supported", "the donor's volumes and binds, and those it borrowed "
                                   "itself, at the same targets; `:ro`/`:rw` for all; adds a dependency"),
    "working_dir": S("supported"),
}

WARNED_SERVICE_KEYS = frozenset(k for k, v in SERVICE_KEYS.items() if v.status == "warned")

TOP_LEVEL_KEYS: dict[str, KeySupport] = {
    "version": S("warned", "obsolete; ignored"),
    "name": S("supported"),
    "include": S("supported", "resolved by the loader"),
    "services": S("supported"),
    "networks": S("supported"),
    "volumes": S("supported", "the local driver: a directory; with `driver_opts` `type: none`, `o: bind` a bind "
                              "of the absolute `device`; with `type: tmpfs` a tmpfs shared by the containers "
                              "using it (`o`: size, nr_inodes, mode, uid, gid and mount flags); another driver "
                              "or mount type is an error when used; an `external` volume must exist (made by "
                              "another stack): `up` and `run` refuse before making anything, and `down -v` keeps it"),
    "configs": S("supported", "`file`, `environment` or `content`; `external` is an error when used; "
                              "`template_driver` warns"),
    "secrets": S("supported", "`file` or `environment`; `external` is an error when used; `driver`, "
                              "`driver_opts` and `template_driver` warn"),
    "models": S("warned", "AI models are not provided"),
}

# Keys of a top-level secret or config that load but change nothing: pystack reads the value
# from the file, variable or content given and mounts it as it is. (A config's ``driver`` is
# not valid at all: the loader refuses it.)
FILE_OBJECT_WARNED: dict[str, dict[str, str]] = {
    "secrets": {"driver": "secret drivers are not provided; the value comes from `file` or `environment`",
                "driver_opts": "secret drivers are not provided",
                "template_driver": "the secret is mounted as it is, not rendered as a template"},
    "configs": {"template_driver": "the config is mounted as it is, not rendered as a template"},
}
