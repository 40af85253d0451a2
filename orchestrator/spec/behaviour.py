"""What a stack, a service and a restart policy can do beyond holding fields, free of pydantic.

Two kinds of objects carry these methods: the pydantic models a full load validates, and the plain
records (:mod:`orchestrator.spec.records`) a load-cache hit unpickles without importing pydantic.
Writing the methods once, here, keeps the two from drifting apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.spec.models.service import Service


class StackBehaviour:
    if TYPE_CHECKING:  # fields the model or record declares; no runtime annotations for pydantic to collect
        services: dict[str, Any]

    def service(self, name: str) -> Service:
        return self.services[name]  # type: ignore[no-any-return]


class RestartBehaviour:
    if TYPE_CHECKING:
        condition: str
        max_attempts: int | None

    def to_compose(self) -> str:
        """The ``restart:`` string this policy reads back from."""
        if self.condition == "on-failure" and self.max_attempts is not None:
            return f"on-failure:{self.max_attempts}"
        return self.condition


class ServiceBehaviour:
    if TYPE_CHECKING:
        depends_on: dict[str, Any]
        links: dict[str, str]
        volumes_from: list[str]
        _json: dict[str, Any] | None

        def model_dump(self, *, mode: str) -> dict[str, Any]: ...

    def dependencies(self) -> dict[str, str]:
        """Every other service this one needs, with the reason (depends_on, links, ...)."""
        deps: dict[str, str] = {}
        for dep in self.depends_on:
            deps.setdefault(dep, "depends_on")
        for dep in self.links:
            deps.setdefault(dep, "links")
        for entry in self.volumes_from:
            if not entry.startswith("container:"):
                deps.setdefault(entry.split(":")[0], "volumes_from")
        for key in ("network_mode", "ipc", "pid"):
            value = getattr(self, key)
            if isinstance(value, str) and value.startswith("service:"):
                deps.setdefault(value[len("service:"):], key)
        return deps

    def as_json(self) -> dict[str, Any]:
        """``model_dump(mode="json")``, made once per service and kept with it (a fresh copy each call).

        Building the serializer of this large model is most of what a small command costs; the load
        cache makes the dump before it stores the stack, so a command whose stack comes from the
        cache never builds it. A service is frozen, so the dump cannot go stale.
        """
        import json

        if self._json is None:
            self._json = self.model_dump(mode="json")  # only a model gets here: a record carries its dump
        # plain JSON data: a round trip through the C codec copies it several times faster than deepcopy
        copied: dict[str, Any] = json.loads(json.dumps(self._json))
        return copied

    def config_hash(self) -> str:
        """sha256 over the normalized meaning; key order and short/long syntax cannot change it.

        As Compose does, what does not change the container is left out: scale, build, pull
        policy, depends_on, profiles, develop and x-* extensions."""
        import json

        from orchestrator import sha256

        data = self.as_json()
        # Unset hashes as its old default did, so that no container is recreated for the change;
        # the image's STOPSIGNAL that then applies counts through the image id in the plan's hash.
        if data.get("stop_signal") is None:
            data["stop_signal"] = "SIGTERM"
        # Watch rules are for `pystack watch`, not the container: editing them recreates nothing.
        # None is what every service hashed with before they were read, so no hash moves for it.
        data["develop"] = None
        for key in ("scale", "build", "pull_policy", "depends_on", "profiles", "extensions", "nested_extensions",
                    "env_file", "label_file", "attach"):
            data.pop(key, None)
        if data.get("deploy"):
            data["deploy"].pop("labels", None)
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return sha256.hexdigest(blob.encode())
