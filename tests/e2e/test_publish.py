"""``publish`` and ``-f oci://``: a stack published to a real registry (Debian's docker-registry,
run inside the test's stand-in host namespace) and brought up from it in another directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REGISTRY_PORT as PORT
from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

pytestmark = pytest.mark.root


STACK = """\
# the published file keeps this comment
services:
  web:
    image: busybox:latest
    command:
      - sh
      - -c
      - mkdir -p /www; echo "$$GREETING from $$(cat /etc/hostname)" > /www/index.html; httpd -f -p 8080 -h /www
    ports: ["127.0.0.1:18393:8080"]
    depends_on: [db]
  db:
    extends:
      file: parts/base.yaml
      service: base
"""
BASE = """\
services:
  base:
    image: busybox:latest
    command: ["sleep", "1000"]
    env_file: common.env
"""


def _manifest(host: Host, repo: str, tag: str) -> dict[str, object]:
    res = host.sh(f"wget -q -O- --header 'Accept: application/vnd.oci.image.manifest.v1+json' "
                  f"http://127.0.0.1:{PORT}/v2/{repo}/manifests/{tag}")
    assert res.returncode == 0, res.stderr
    doc: dict[str, object] = json.loads(res.stdout)
    return doc


def _publisher(host: Host) -> Path:
    host.write("app/compose.yaml", STACK)
    host.write("app/parts/base.yaml", BASE)
    host.write("app/parts/common.env", "GREETING=hello\n")
    return host.workdir / "app"


def test_a_published_stack_runs_from_the_registry_elsewhere(host: Host, registry: str) -> None:
    app = _publisher(host)
    f = str(app / "compose.yaml")
    refused = host.pystack("-f", f, "publish", f"{registry}/team/shop:1", check=False)
    assert refused.returncode != 0
    assert "env_file" in refused.stderr and "--with-env" in refused.stderr and "Traceback" not in refused.stderr
    host.pystack("-f", f, "publish", "--with-env", f"{registry}/team/shop:1")

    doc = _manifest(host, "team/shop", "1")
    assert doc["artifactType"] == "application/vnd.docker.compose.project"
    layers = doc["layers"]
    assert isinstance(layers, list)
    kinds = [(x["mediaType"], x["annotations"].get("com.docker.compose.extends")) for x in layers]
    assert kinds == [("application/vnd.docker.compose.file+yaml", None),
                     ("application/vnd.docker.compose.file+yaml", "true"),
                     ("application/vnd.docker.compose.envfile", None)]
    assert layers[0]["annotations"]["com.docker.compose.file"] == "compose.yaml"

    # another directory, no files: the stack comes from the registry; its name from the repository
    elsewhere = host.workdir / "elsewhere"
    elsewhere.mkdir()
    oci = f"oci://{registry}/team/shop:1"
    res = subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", "python3", "-m", "orchestrator",
                          "-f", oci, "up", "-d"], cwd=elsewhere, env=host.env(), capture_output=True, text=True,
                         timeout=120)
    try:
        assert res.returncode == 0, res.stderr
        page = host.http("http://127.0.0.1:18393/")
        assert page.startswith(" from "), page  # web has no env file: GREETING is empty there
        ps = json_lines(host.pystack("-f", oci, "ps", "--format", "json").stdout)
        assert sorted(c["Name"] for c in ps) == ["shop-db-1", "shop-web-1"]
        env = host.pystack("-f", oci, "exec", "-T", "db", "sh", "-c", "echo $GREETING").stdout
        assert env.strip() == "hello"  # the env file of the extended file came along
        published = host.root / "cache" / "remote"
        files = sorted(p.name for p in published.glob("*/shop/*"))
        assert "compose.yaml" in files and len(files) == 3
        stored = next(published.glob("*/shop/compose.yaml")).read_text()
        assert "# the published file keeps this comment" in stored
    finally:
        host.pystack("-f", oci, "down", "-t", "0", check=False)
    assert not host.pystack("-f", oci, "ps", "-a", "-q").stdout.strip()


def test_oci_1_0_form_and_refusals(host: Host, registry: str) -> None:
    host.write("one.yaml", "services:\n  s:\n    image: busybox:latest\n    command: [sleep, '100']\n"
                           "    volumes: ['./data:/data']\n")
    f = str(host.workdir / "one.yaml")
    binds = host.pystack("-f", f, "publish", f"{registry}/one:1", check=False)
    assert binds.returncode != 0 and "bind mounts" in binds.stderr and "-y" in binds.stderr
    host.pystack("-f", f, "publish", "-y", "--oci-version", "1.0", f"{registry}/one:1")
    doc = _manifest(host, "one", "1")
    assert "artifactType" not in doc
    assert doc["config"] == {"mediaType": "application/vnd.docker.compose.config.empty.v1+json",
                             "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                             "size": 2}
    services = host.pystack("-f", f"oci://{registry}/one:1", "config", "--services").stdout.split()
    assert services == ["s"]

    host.write("build.yaml", "services:\n  b:\n    build: .\n")
    only_build = host.pystack("-f", str(host.workdir / "build.yaml"), "publish", f"{registry}/b:1", check=False)
    assert only_build.returncode != 0 and "only build" in only_build.stderr

    missing = host.pystack("-f", f"oci://{registry}/nothing:1", "config", check=False)
    assert missing.returncode != 0 and "oci://" in missing.stderr and "Traceback" not in missing.stderr


def test_an_image_is_not_a_stack(host: Host, registry: str) -> None:
    host.pystack("image", "tag", "busybox:latest", f"{registry}/bb:1")
    host.pystack("image", "push", f"{registry}/bb:1")
    res = host.pystack("-f", f"oci://{registry}/bb:1", "config", check=False)
    assert res.returncode != 0 and "not a Compose project artifact" in res.stderr


def test_published_file_names_never_leave_their_directory(host: Host, registry: str) -> None:
    """An artifact naming a file ``../x`` (made by hand, not by publish) is refused, nothing written."""
    script = (
        "import sys\n"
        "from orchestrator.images import stack_artifact as art\n"
        "parts = [art.stack_file('compose.yaml', b'services: {}\\n', 't'),\n"
        "         art.env_file('../escaped.env', b'X=1\\n', 't')]\n"
        f"art.push('{registry}/evil:1', parts)\n")
    subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", "python3", "-c", script], check=True,
                   cwd=Path(__file__).parents[2], capture_output=True)
    res = host.pystack("-f", f"oci://{registry}/evil:1", "config", check=False)
    assert res.returncode != 0 and "not a plain file name" in res.stderr
    assert not list(host.root.rglob("escaped.env"))
    remote = host.root / "cache" / "remote"
    assert not remote.exists() or not any(p.is_file() for p in remote.rglob("*"))


def test_compose_file_names_a_published_stack(host: Host, registry: str) -> None:
    """``COMPOSE_FILE=oci://…`` from the shell, and from the project's ``.env`` beside a local override
    (``COMPOSE_PATH_SEPARATOR`` set, since the reference holds colons)."""
    host.write("pub/compose.yaml", "services:\n  s:\n    image: busybox:latest\n    command: [sleep, '100']\n")
    host.pystack("-f", str(host.workdir / "pub" / "compose.yaml"), "publish", f"{registry}/envstack:2")
    oci = f"oci://{registry}/envstack:2"
    shell = host.pystack("config", "--services", env={"COMPOSE_FILE": oci})
    assert shell.stdout.split() == ["s"]

    host.write("local/override.yaml", "services:\n  extra:\n    image: busybox:latest\n")
    host.write("local/.env", f"COMPOSE_PATH_SEPARATOR=,\nCOMPOSE_FILE={oci},override.yaml\n")
    res = subprocess.run(["nsenter", f"--net=/run/netns/{host.netns}", "python3", "-m", "orchestrator", "config",
                          "--services"], cwd=host.workdir / "local",
                         env=host.env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert sorted(res.stdout.split()) == ["extra", "s"]

    missing = host.pystack("config", check=False, env={"COMPOSE_FILE": f"oci://{registry}/nothing:1"})
    assert missing.returncode != 0 and "COMPOSE_FILE=oci://" in missing.stderr and "Traceback" not in missing.stderr


def test_sensitive_data_is_published_only_once_confirmed(host: Host, registry: str) -> None:
    """Compose's check: a credential in a published file (here a literal password) is listed, redacted,
    and the publication refused without a terminal unless ``-y``; nothing is pushed before that."""
    value = "hunter" + "-2-" + "correct"
    host.write("sens/compose.yaml", "services:\n  s:\n    image: busybox:latest\n"
                                    f"    environment:\n      DB_HOST: db\n      DB_PASSWORD: {value}\n")
    f = str(host.workdir / "sens" / "compose.yaml")
    res = host.pystack("-f", f, "publish", "--with-env", f"{registry}/sens:1", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "compose.yaml:6: password assignment (hunt…)" in res.stderr and "-y" in res.stderr
    assert value not in res.stderr
    unpublished = host.sh(f"wget -q -O- http://127.0.0.1:{PORT}/v2/sens/tags/list")
    assert unpublished.returncode != 0  # the repository does not exist: nothing was pushed
    host.pystack("-f", f, "publish", "--with-env", "-y", f"{registry}/sens:1")
    assert _manifest(host, "sens", "1")["artifactType"] == "application/vnd.docker.compose.project"
