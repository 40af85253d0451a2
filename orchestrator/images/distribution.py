"""Pull and push per the OCI distribution spec, over :class:`~orchestrator.images.registry.RegistryClient`.

Pull: manifest (or index → the platform's manifest), then the config and every layer blob not
already in the content store, layers in parallel threads, each verified against its digest as it
streams in. The image is recorded only when all of it is present. Push: the reverse, asking
the registry first which blobs it already has (HEAD), uploading only the missing ones, manifest last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ImageError
from orchestrator.images import manifest as mf
from orchestrator.images import reference
from orchestrator.images.content import sha256_bytes
from orchestrator.images.progress import Progress, as_progress
from orchestrator.images.registry import RegistryClient

if TYPE_CHECKING:
    from orchestrator.images.store import Image, ImageStore

PARALLEL = 4


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def fetch_manifest(client: RegistryClient, name: str, ref: str) -> tuple[bytes, str, str]:
    """(bytes, media type, digest) of a manifest or index; by-digest fetches are verified."""
    r = client.request("GET", f"/v2/{name}/manifests/{ref}", scope=f"repository:{name}:pull",
                       headers={"Accept": mf.ACCEPT})
    data = r.read()
    digest = sha256_bytes(data)
    if reference.is_digest(ref) and digest != ref:
        raise ImageError(f"{client.domain}/{name}: manifest {ref} does not match its digest (got {digest})")
    try:
        doc = json.loads(data)
    except ValueError:
        raise ImageError(f"{client.domain}/{name}:{ref}: manifest is not JSON") from None
    media = doc.get("mediaType") or r.headers.get("Content-Type", "").split(";")[0]
    if "manifests" in doc and media not in mf.INDEX_TYPES:
        media = mf.OCI_INDEX
    if media not in mf.INDEX_TYPES + mf.MANIFEST_TYPES:
        raise ImageError(f"{client.domain}/{name}:{ref}: unsupported manifest type {media!r}"
                         " (docker schema 1 images are not supported)")
    return data, media, digest


def pull(store: ImageStore, ref: str, *, platform: str | None, insecure: bool,
         progress: Progress | Callable[[str], None] | None) -> Image:
    p = as_progress(progress)
    r = reference.parse(ref)
    client = RegistryClient(r.domain, insecure=insecure)
    name = r.path
    target = r.digest or r.tag or "latest"
    data, media, digest = fetch_manifest(client, name, target)
    if media in mf.INDEX_TYPES:
        want = mf.parse_platform(platform)
        chosen = mf.choose_manifest(json.loads(data), want)
        data, media, digest = fetch_manifest(client, name, chosen["digest"])
        if media not in mf.MANIFEST_TYPES:
            raise ImageError(f"{r.familiar}: the {want} entry of the index is not an image manifest")
    elif platform:
        _check_platform(store, client, name, json.loads(data), mf.parse_platform(platform), r.familiar)
    doc: dict[str, Any] = json.loads(data)
    p.message(f"{r.familiar}: pulling manifest {_short(digest)}")
    cfg = doc["config"]
    if not store.content.has(cfg["digest"]):
        with client.blob(name, cfg["digest"]) as s:
            store.content.ingest(s, expected=cfg["digest"], expected_size=cfg.get("size"))
    layers = mf.manifest_layers(doc)

    def get(layer: dict[str, Any]) -> None:
        d, total = layer["digest"], int(layer.get("size") or 0)
        item = _short(d)
        if store.content.has(d):
            p.event(item, "already exists")
            return
        done = [0]

        def moved(n: int) -> None:
            done[0] += n
            p.event(item, "downloading", done[0], total)

        p.event(item, "downloading", 0, total)
        with client.blob(name, d) as s:
            store.content.ingest(s, expected=d, expected_size=total or None, on_bytes=moved)
        p.event(item, "done", total, total)

    _parallel(get, layers)
    store.content.write_bytes(data, expected=digest)
    refs = [str(r)]
    image = store.register_manifest(digest, refs)
    p.message(f"{r.familiar}: pulled {digest}")
    p.finish()
    return image


def _check_platform(store: ImageStore, client: RegistryClient, name: str, doc: dict[str, Any],
                    want: mf.Platform, shown: str) -> None:
    """A single-platform manifest still has to be the platform asked for."""
    cfg = doc["config"]
    if not store.content.has(cfg["digest"]):
        with client.blob(name, cfg["digest"]) as s:
            store.content.ingest(s, expected=cfg["digest"])
    config = json.loads(store.content.read_bytes(cfg["digest"]))
    if (config.get("os"), config.get("architecture")) != (want.os, want.architecture):
        raise ImageError(f"{shown} is {config.get('os')}/{config.get('architecture')}, not {want}")


def _parallel(fn: Callable[[dict[str, Any]], None], items: list[dict[str, Any]]) -> None:
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="blob") as pool:
        futures = [pool.submit(fn, item) for item in items]
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def push(store: ImageStore, ref: str, *, insecure: bool,
         progress: Progress | Callable[[str], None] | None) -> None:
    p = as_progress(progress)
    image = store.resolve(ref)
    r = reference.parse(ref)
    client = RegistryClient(r.domain, insecure=insecure)
    name = r.path
    scope = f"repository:{name}:pull,push"
    raw = store.content.read_bytes(image.manifest_digest)
    doc = json.loads(raw)
    blobs = [*mf.manifest_layers(doc), doc["config"]]
    others = [reference.parse(x) for x in image.refs]
    source = next((o.path for o in others if o.domain == r.domain and o.path != name), None)

    def put(desc: dict[str, Any]) -> None:
        d, size = desc["digest"], int(desc["size"])
        item = _short(d)
        if client.has_blob(name, d, scope):
            p.event(item, "already exists")
            return
        location = None
        if source:  # another repository of this registry may have it: ask for a mount, no upload
            start = client.request("POST", f"/v2/{name}/blobs/uploads/?mount={d}&from={source}",
                                   scope=f"{scope} repository:{source}:pull", ok=(201, 202), body=b"")
            start.close()
            if start.status == 201:
                p.event(item, "mounted")
                return
            location = start.headers.get("Location")  # declined: 202 opened a normal upload
        p.event(item, "pushing", 0, size)
        with store.content.open(d) as f:
            client.upload_blob(name, d, f, size, scope, location)
        p.event(item, "pushed", size, size)

    _parallel(put, blobs)
    target = r.tag or r.digest or "latest"
    media = doc.get("mediaType") or image.media_type or mf.OCI_MANIFEST
    resp = client.request("PUT", f"/v2/{name}/manifests/{target}", scope=scope, ok=(201, 200, 202),
                          body=raw, headers={"Content-Type": media, "Content-Length": str(len(raw))})
    resp.close()
    p.message(f"{r.familiar}: pushed {image.manifest_digest}")
    p.finish()


def login(domain: str, username: str, password: str, *, insecure: bool = False) -> str:
    """Check the credentials against the registry, then store them where docker keeps them."""
    from orchestrator.images.auth import Credentials, store_credentials

    creds = Credentials(username, password)
    RegistryClient(domain, insecure=insecure, credentials=creds).check_login()
    return str(store_credentials(domain, creds))
