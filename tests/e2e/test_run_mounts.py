"""``RUN --mount`` in a stack's build: a cache that later builds find again, binds of the context
(read-only, or writable into a throwaway copy) and of another stage, a tmpfs; none of it, and none
of the mount points made for it, ends up in the image. A secret the build was not given is
skipped, or refused when required; a bind can never reach outside the context. (SSH agents:
test_build_ssh.py.)"""

from __future__ import annotations

import contextlib
import gzip

from tests.e2e.conftest import Host

DOCKERFILE = """\
FROM busybox:latest AS tools
RUN mkdir -p /opt/tool && echo tool-v1 > /opt/tool/version

FROM busybox:latest
WORKDIR /work
RUN --mount=type=cache,target=/var/cache/pkgs,id=pkgs \\
    n=$(cat /var/cache/pkgs/count 2>/dev/null || echo 0); echo $((n+1)) > /var/cache/pkgs/count; \\
    cp /var/cache/pkgs/count /cache-count-seen
RUN --mount=type=bind,source=src,target=/mnt/src \\
    --mount=type=bind,from=tools,source=/opt/tool,target=/mnt/tool \\
    --mount=type=tmpfs,target=/scratch \\
    cat /mnt/src/hello.txt /mnt/tool/version > combined && touch /scratch/x && \\
    if touch /mnt/src/nope 2>/dev/null; then echo ro-broken; else echo ro-ok; fi >> combined
RUN --mount=type=bind,source=src,target=/mnt/rw,rw touch /mnt/rw/written && echo rw-ok >> combined
RUN --mount=type=secret,id=token cat /run/secrets/token 2>/dev/null || echo no-secret >> combined
CMD ["sh", "-c", "cat /work/combined /cache-count-seen; \\
     for p in /mnt /scratch /var/cache/pkgs /run/secrets; do test -e $p && echo has-$p; done; true"]
"""

STACK = """
name: runmounts
services:
  b:
    image: runmounts-b
    network_mode: none
    build: {context: ., dockerfile: DOCKERFILE}
"""


def _output(host: Host, f: str) -> list[str]:
    return host.pystack("-f", f, "run", "--rm", "-T", "b").stdout.split()


def test_run_mounts_lend_without_adding_to_the_image(host: Host) -> None:
    host.write("Dockerfile", DOCKERFILE)
    host.write("src/hello.txt", "hello\n")
    f = str(host.write("compose.yaml", STACK.replace("DOCKERFILE", "Dockerfile")))
    host.pystack("-f", f, "build")
    assert _output(host, f) == ["hello", "tool-v1", "ro-ok", "rw-ok", "no-secret", "1"]
    assert not (host.workdir / "src" / "written").exists()  # the rw bind wrote into a copy
    assert not (host.workdir / "src" / "nope").exists()

    # the cache is found again by a build that reruns every step; the image never holds it
    host.pystack("-f", f, "build", "--no-cache")
    assert _output(host, f)[-1] == "2"
    # a bound file of the context is part of the step's key: an edit reruns the step
    host.write("src/hello.txt", "changed\n")
    host.pystack("-f", f, "build")
    assert _output(host, f)[:2] == ["changed", "tool-v1"]
    host.pystack("image", "rm", "runmounts-b")


def test_run_mount_refusals_are_one_line(host: Host) -> None:
    cases = {
        "outside": "RUN --mount=type=bind,source=../..,target=/mnt true",
        "secret": "RUN --mount=type=secret,id=token,required=true true",
        "kind": "RUN --mount=type=volume,target=/x true",
        "option": "RUN --mount=type=cache,target=/x,colour=blue true",
    }
    for name, run in cases.items():
        host.write(f"{name}.Dockerfile", f"FROM busybox:latest\n{run}\n")
        f = str(host.write("compose.yaml", STACK.replace("DOCKERFILE", f"{name}.Dockerfile")))
        res = host.pystack("-f", f, "build", check=False)
        assert res.returncode != 0 and "Traceback" not in res.stderr, (name, res.stderr)
        assert {"outside": "outside the build context", "secret": "given no such secret",
                "kind": "type=volume", "option": "unknown option 'colour'"}[name] in res.stderr, (name, res.stderr)


# the step checks digests of the values: the Dockerfile (kept in the image's history) never holds them
SECRET_DOCKERFILE = """\
FROM busybox:latest
RUN --mount=type=secret,id=token,required=true --mount=type=secret,id=api,env=API_KEY \\
    test "$(sha256sum < /run/secrets/token | cut -c1-16)" = "3877e20ef29e6a47" \\
    && test "$(printf %s "$API_KEY" | sha256sum | cut -c1-16)" = "3605a9e4358da430" && ! test -e /run/secrets/api \\
    && echo secret-ok > /ok
CMD ["sh", "-c", "cat /ok; test -e /run/secrets && echo has-run-secrets; echo ${API_KEY:-no-env}"]
"""


def test_build_secrets_are_lent_to_the_step_and_kept_out_of_the_image(host: Host) -> None:
    host.write("secret.Dockerfile", SECRET_DOCKERFILE)
    host.write("token.txt", "tok-9f2c")
    f = str(host.write("compose.yaml", """
name: runmounts
services:
  s:
    image: runmounts-s
    network_mode: none
    build:
      context: .
      dockerfile: secret.Dockerfile
      secrets: [token, {source: api_key, target: api}]
secrets:
  token: {file: ./token.txt}
  api_key: {environment: API_KEY_VALUE}
"""))
    res = host.pystack("-f", f, "build", env={"API_KEY_VALUE": "k-123"})
    assert "not honoured" not in res.stderr
    assert host.pystack("-f", f, "run", "--rm", "-T", "s").stdout.split() == ["secret-ok", "no-env"]
    for blob in (host.root / "blobs").rglob("*"):
        if blob.is_file():
            raw = blob.read_bytes()
            with contextlib.suppress(OSError, EOFError):  # a layer: its tar too
                raw += gzip.decompress(raw)
            assert b"tok-9f2c" not in raw and b"k-123" not in raw, blob
    missing = host.pystack("-f", f, "build", "--no-cache", check=False)  # API_KEY_VALUE unset now
    assert missing.returncode != 0 and "API_KEY_VALUE is not set" in missing.stderr
    host.pystack("image", "rm", "runmounts-s")
