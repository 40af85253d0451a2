"""``pystack network`` as a user runs it, against networks made in a stand-in host namespace."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.network.driver import Attachment, NetworkDriver, NetworkSpec
from tests.integration.network.conftest import cid, nsexec

pytestmark = pytest.mark.root


def test_ls_inspect_rm_prune(driver: NetworkDriver, host_ns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSTACK_NET_HOST_NETNS", host_ns)
    used = driver.ensure_network(NetworkSpec(name="cli_default", project="cli", labels={"a": "b"}))
    spare = driver.ensure_network(NetworkSpec(name="cli_spare", project="cli", internal=True))
    driver.ensure_network(NetworkSpec(name="cli_gone", project="cli"))
    c = cid()
    ep = driver.attach(c, driver.create_netns(c, project="cli"), [Attachment("cli_default")])[0]
    run = CliRunner().invoke
    root = ["--root", str(driver.paths.root), "network"]

    out = run(cli, [*root, "ls"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split()[:3] == ["NAME", "PROJECT", "BRIDGE"]
    assert any(line.split()[0] == "cli_default" and line.split()[-1] == "1" for line in lines)
    assert run(cli, [*root, "ls", "-q"]).output.split() == ["cli_default", "cli_gone", "cli_spare"]

    data = json.loads(run(cli, [*root, "inspect", "cli_default"]).output)[0]
    assert data["IPAM"]["Subnet"] == used.subnet and data["Labels"] == {"a": "b"}
    assert data["Containers"][c]["IPv4Address"].startswith(ep.address + "/")

    missing = run(cli, [*root, "inspect", "nope"])
    assert missing.exit_code != 0

    assert run(cli, [*root, "rm", "cli_gone"]).exit_code == 0
    busy = run(cli, [*root, "rm", "cli_default"])
    assert busy.exit_code != 0 and "still used" in str(busy.exception)

    pruned = run(cli, [*root, "prune", "-f"])
    assert pruned.output.strip() == "Deleted network cli_spare"
    assert spare.bridge not in nsexec(host_ns, "ip", "-br", "link").stdout
    assert run(cli, [*root, "ls", "-q"]).output.split() == ["cli_default"]
