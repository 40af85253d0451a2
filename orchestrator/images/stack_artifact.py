"""A stack's files as an OCI artifact in a registry: what ``publish`` pushes and ``-f oci://`` fetches.

The artifact is Compose's, so that a stack published by either tool runs with the other: an image
manifest whose layers are the files (``application/vnd.docker.compose.file+yaml``, named by the
``com.docker.compose.file`` annotation; env files as ``application/vnd.docker.compose.envfile``), with
OCI 1.1's ``artifactType`` and the empty config, or, for registries that refuse 1.1 manifests, OCI
1.0's form (a Compose-specific config media type, no ``artifactType``). Every blob is small, so it is
sent in one request and read whole; each one fetched is checked against its digest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images import reference
from orchestrator.images.content import sha256_bytes
from orchestrator.images.registry import RegistryClient

PROJECT_ARTIFACT = "application/vnd.docker.compose.project"
FILE_MEDIA = "application/vnd.docker.compose.file+yaml"
ENVFILE_MEDIA = "application/vnd.docker.compose.envfile"
EMPTY_CONFIG_V10 = "application/vnd.docker.compose.config.empty.v1+json"
EMPTY_CONFIG_V11 = "application/vnd.oci.empty.v1+json"
FILE_KEY = "com.docker.compose.file"
ENVFILE_KEY = "com.docker.compose.envfile"
EXTENDS_KEY = "com.docker.compose.extends"
VERSION_KEY = "com.docker.compose.version"
OCI_VERSIONS = ("1.0", "1.1")
MAX_BLOB = 4 << 20  # a stack file larger than this is no stack file


@dataclass(frozen=True)
class Part:
    """One layer: a stack file, a file it extends, or an env file."""
    media_type: str
    data: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.annotations.get(FILE_KEY) or self.annotations.get(ENVFILE_KEY) or ""

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": sha256_bytes(self.data), "size": len(self.data),
                "annotations": dict(self.annotations)}


def stack_file(name: str, data: bytes, version: str, *, extends: bool = False) -> Part:
    notes = {VERSION_KEY: version, FILE_KEY: name}
    if extends:
        notes[EXTENDS_KEY] = "true"
    return Part(FILE_MEDIA, data, notes)


def env_file(name: str, data: bytes, version: str) -> Part:
    return Part(ENVFILE_MEDIA, data, {VERSION_KEY: version, ENVFILE_KEY: name})


def manifest_for(parts: list[Part], oci_version: str, *, created: str | None = None) -> bytes:
    config: dict[str, object] = {"mediaType": EMPTY_CONFIG_V11 if oci_version == "1.1" else EMPTY_CONFIG_V10,
                                 "digest": sha256_bytes(b"{}"), "size": 2}
    doc: dict[str, object] = {"schemaVersion": 2, "mediaType": mf.OCI_MANIFEST}
    if oci_version == "1.1":
        doc["artifactType"] = PROJECT_ARTIFACT
    doc["config"] = config
    doc["layers"] = [p.descriptor() for p in parts]
    doc["annotations"] = {"org.opencontainers.image.created":
                          created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return json.dumps(doc, separators=(",", ":")).encode()


def _put_blob(client: RegistryClient, name: str, data: bytes) -> None:
    scope = f"repository:{name}:pull,push"
    digest = sha256_bytes(data)
    if not client.has_blob(name, digest, scope):
        client.upload_blob(name, digest, data, len(data), scope)


def push(ref: str, parts: list[Part], *, oci_version: str | None = None, insecure: bool = False) -> str:
    """Push the parts and their manifest under ``ref``; the manifest's digest.

    Without a version, OCI 1.1 is tried first and 1.0 used if the registry refuses the manifest
    with a client error other than an authentication one (a registry that predates 1.1)."""
    r = reference.parse(ref)
    client = RegistryClient(r.domain, insecure=insecure)
    name, target = r.path, r.tag or r.digest or "latest"
    for part in parts:
        _put_blob(client, name, part.data)
    _put_blob(client, name, b"{}")
    versions = [oci_version] if oci_version else ["1.1", "1.0"]
    last = ""
    for version in versions:
        raw = manifest_for(parts, version)
        resp = client.request("PUT", f"/v2/{name}/manifests/{target}", scope=f"repository:{name}:pull,push",
                              ok=(200, 201, 202, 400, 404, 405, 415, 422), body=raw,
                              headers={"Content-Type": mf.OCI_MANIFEST, "Content-Length": str(len(raw))})
        if resp.status in (200, 201, 202):
            resp.close()
            return sha256_bytes(raw)
        last = client.failure("PUT", f"/v2/{name}/manifests/{target}", resp)
    raise ImageError(last)


@dataclass
class Artifact:
    """A Compose project artifact whose manifest has been read; its layers are fetched on demand."""
    ref: str
    digest: str  # the manifest's
    layers: list[Part]  # media types and annotations; no data yet
    _client: RegistryClient
    _name: str
    _descriptors: list[dict[str, object]]

    def parts(self) -> list[Part]:
        """Every layer with its data, each checked against its digest."""
        out = []
        for desc, part in zip(self._descriptors, self.layers, strict=True):
            digest = str(desc["digest"])
            resp = self._client.request("GET", f"/v2/{self._name}/blobs/{digest}",
                                        scope=f"repository:{self._name}:pull")
            data = resp.stream().read(MAX_BLOB + 1)
            resp.close()
            if sha256_bytes(data) != digest:
                raise ImageError(f"{self.ref}: layer {digest} does not match its digest")
            out.append(Part(part.media_type, data, part.annotations))
        return out


def open_artifact(ref: str, *, insecure: bool = False) -> Artifact:
    """The artifact ``ref`` names, from its manifest; an image or any other artifact is refused."""
    from orchestrator.images.distribution import fetch_manifest

    r = reference.parse(ref)
    client = RegistryClient(r.domain, insecure=insecure)
    name = r.path
    raw, media, digest = fetch_manifest(client, name, r.digest or r.tag or "latest")
    doc = json.loads(raw)
    kind = doc.get("artifactType") or ""
    config_type = (doc.get("config") or {}).get("mediaType", "")
    if media != mf.OCI_MANIFEST or (kind and kind != PROJECT_ARTIFACT) or (not kind and config_type not in (
            EMPTY_CONFIG_V10, PROJECT_ARTIFACT)):
        raise ImageError(f"{r.familiar} is not a Compose project artifact (it is {kind or config_type or media})")
    descriptors: list[dict[str, object]] = list(doc.get("layers") or [])
    layers = []
    for desc in descriptors:
        size = int(str(desc.get("size") or 0))
        if size > MAX_BLOB:
            raise ImageError(f"{r.familiar}: layer {desc.get('digest')} is {size} bytes, too large for a stack file")
        notes = desc.get("annotations")
        layers.append(Part(str(desc.get("mediaType", "")), b"",
                           {str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else {}))
    return Artifact(r.familiar, digest, layers, client, name, descriptors)
