"""Command-line flags that must do what Compose's same flags do (each was once accepted and ignored,
or did something else): ``up --pull/-t/--attach/--timestamps/--abort-on-container-failure``,
``rm -f``, ``ps --status/--filter``, ``run --use-aliases/--cap-add/-q``, ``--quiet-build``, bad values as
one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from tests.e2e.conftest import Host
from tests.helpers.output import json_lines

SLEEPER = """
name: {name}
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
"""


def test_up_pull_overrides_the_services_pull_policy(host: Host) -> None:
    """pull_policy: always would pull (and fail, this host has no registry); --pull never wins."""
    f = str(host.write("compose.yaml", """
name: flagfixpull
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    pull_policy: always
"""))
    res = host.pystack("-f", f, "up", "-d", "--pull", "never", check=False)
    assert res.returncode == 0, res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)[0]["State"] == "running"


def test_up_timeout_bounds_the_stop_of_a_recreated_container(host: Host) -> None:
    """``sleep`` as PID 1 ignores SIGTERM: a recreate waits its 10 s grace period, unless ``-t 0``."""
    f = str(host.write("compose.yaml", SLEEPER.format(name="flagfixtimeout")))
    host.pystack("-f", f, "up", "-d", "--wait")
    t0 = time.monotonic()
    out = host.pystack("-f", f, "--progress", "plain", "up", "-d", "--force-recreate", "-t", "0").stderr
    assert time.monotonic() - t0 < 6, out
    assert "Recreate" in out or "Removing" in out
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)[0]["State"] == "running"


def test_up_refuses_flag_combinations_and_unknown_services(host: Host) -> None:
    f = str(host.write("compose.yaml", SLEEPER.format(name="flagfixrefuse")))
    for args, words in [
        (["-d", "--abort-on-container-exit"], "incompatible"),
        (["--wait", "--exit-code-from", "app"], "incompatible"),
        (["--always-recreate-deps", "--no-recreate"], "incompatible"),
        (["--exit-code-from", "nope"], "nope"),  # once: a foreground up waiting forever
        (["-d", "--scale", "nope=2"], "no such service: nope"),
        (["-d", "--attach", "nope"], "no such service: nope"),
    ]:
        res = host.pystack("-f", f, "up", *args, check=False, timeout=30)
        assert res.returncode != 0 and words in res.stderr.strip().splitlines()[-1], (args, res.stderr)
        assert "Traceback" not in res.stderr, res.stderr
    for args in (["run", "--bogus", "a=b", "app", "true"], ["exec", "--detach-keys=x", "app", "true"]):
        res = host.pystack("-f", f, *args, check=False)  # options before SERVICE are ours: unknown ones refused
        assert res.returncode == 2 and "No such option" in res.stderr, res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def test_foreground_up_attach_timestamps_and_abort_on_failure(host: Host) -> None:
    """Only --attach'ed output is printed, with timestamps; the failing container's exit ends up
    (with its code) even though its output is not attached."""
    f = str(host.write("compose.yaml", """
name: flagfixattach
services:
  shown:
    image: busybox:latest
    command: ["sh", "-c", "echo shown-line; exec sleep 1000"]
  hidden:
    image: busybox:latest
    command: ["sh", "-c", "echo hidden-line; sleep 1; exit 3"]
"""))
    cmd = ["nsenter", f"--net=/run/netns/{host.netns}", sys.executable, "-m", "orchestrator", "-f", f, "up",
           "--no-color", "--attach", "shown", "--timestamps", "--abort-on-container-failure", "-t", "0"]
    proc = subprocess.Popen(cmd, cwd=host.workdir, env=host.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err
    assert "hidden-line" not in out
    line = next(x for x in out.splitlines() if "shown-line" in x)
    assert re.match(r"shown-1 \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* shown-line$", line), line


def test_rm_force_leaves_running_containers(host: Host) -> None:
    """As in Compose, -f only skips the question: a running container goes with -s only."""
    f = str(host.write("compose.yaml", SLEEPER.format(name="flagfixrm")))
    host.pystack("-f", f, "up", "-d", "--wait")
    res = host.pystack("-f", f, "rm", "-f")
    assert "No stopped containers" in res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)[0]["State"] == "running"
    host.pystack("-f", f, "rm", "-f", "-s")
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def test_ps_status_filter_and_bad_values(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: flagfixps
services:
  once:
    image: busybox:latest
    command: ["true"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "create")
    assert json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout) == []  # created: only with -a
    assert len(json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)) == 2
    host.pystack("-f", f, "up", "-d", "--wait")

    def services(*args: str) -> list[str]:
        return sorted(r["Service"] for r in json_lines(host.pystack("-f", f, "ps", *args, "--format", "json").stdout))

    assert services("--status", "exited") == ["once"]
    assert services("--filter", "status=running") == ["app"]
    for args in (["ps", "--status", "exitted"], ["ps", "--filter", "state=running"], ["ps", "nope"],
                 ["logs", "--tail", "ten"], ["logs", "--since", "yesterday"], ["port", "app", "eighty"]):
        res = host.pystack("-f", f, *args, check=False)
        assert res.returncode != 0 and "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    assert host.pystack("-f", f, "logs", "--since", "1h30m").returncode == 0


def test_run_is_not_the_service_to_lookups_unless_use_aliases(host: Host) -> None:
    """A one-off container answers to its own name; with --use-aliases to the service's too.
    --cap-add reaches the one-off's capabilities."""
    f = str(host.write("compose.yaml", SLEEPER.format(name="flagfixalias")))
    host.pystack("-f", f, "up", "-d", "--wait")

    def addresses() -> set[str]:
        out = host.pystack("-f", f, "exec", "-T", "app", "nslookup", "app").stdout
        return set(re.findall(r"Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)", out.split("Name:", 1)[-1]))

    assert len(addresses()) == 1
    host.pystack("-f", f, "run", "-d", "--name", "flagfixalias-plain", "app", "sleep", "1000")
    assert len(addresses()) == 1
    host.pystack("-f", f, "run", "-d", "--use-aliases", "--name", "flagfixalias-alias", "app", "sleep", "1000")
    assert len(addresses()) == 2
    res = host.pystack("-f", f, "run", "--rm", "-T", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "app",
                       "grep", "CapEff", "/proc/self/status")
    assert res.stdout.split()[-1] == "0000000000001000"  # CAP_NET_ADMIN (12) alone


def test_wait_scale_volumes_and_start_wait(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: flagfixwait
services:
  job:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; exit 4"]
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    volumes: ["data:/data"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
volumes:
  data: {}
  spare: {}
"""))
    host.pystack("-f", f, "up", "-d")
    res = host.pystack("-f", f, "wait", "job", check=False, timeout=60)
    assert res.returncode == 4 and "exited with status code 4" in res.stdout, res.stderr

    host.pystack("-f", f, "scale", "app=3")
    rows = json_lines(host.pystack("-f", f, "ps", "--format", "json", "app").stdout)
    assert sorted(r["Name"] for r in rows) == ["flagfixwait-app-1", "flagfixwait-app-2", "flagfixwait-app-3"]
    assert host.pystack("-f", f, "scale", "nope=2", check=False).returncode != 0

    assert host.pystack("-f", f, "volumes", "-q").stdout.split() == ["flagfixwait_data", "flagfixwait_spare"]
    assert host.pystack("-f", f, "volumes", "app").stdout.splitlines() == [
        "DRIVER    VOLUME NAME", "local     flagfixwait_data"]
    assert host.pystack("-f", f, "volumes", "-q", "job").stdout == ""

    host.pystack("-f", f, "stop", "-t", "0", "app")
    out = host.pystack("-f", f, "start", "--wait", "app", timeout=60).stderr
    assert "Healthy" in out, out
    health = {r["Health"] for r in json_lines(host.pystack("-f", f, "ps", "--format", "json", "app").stdout)}
    assert health == {"healthy"}

    host.pystack("-f", f, "up", "-d", "--force-recreate", "-t", "0", "job")
    res = host.pystack("-f", f, "wait", "--down-project", "job", check=False, timeout=60)
    assert res.returncode == 4, res.stderr
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []


def test_down_services_leaves_the_rest_of_the_stack(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: flagfixdown
services:
  web:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on: [db]
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "up", "-d", "--wait")
    host.pystack("-f", f, "down", "-t", "0", "web")
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [(r["Service"], r["State"]) for r in rows] == [("db", "running")]
    assert host.pystack("-f", f, "exec", "-T", "db", "true").returncode == 0
    bad = host.pystack("-f", f, "down", "nope", check=False)
    assert bad.returncode != 0 and "no such service: nope" in bad.stderr


def test_ls_filter_and_version_format(host: Host) -> None:
    for name in ("flagfixlsone", "flagfixlstwo"):
        host.write(f"{name}.yaml", SLEEPER.format(name=name))
        host.pystack("-f", str(host.workdir / f"{name}.yaml"), "up", "-d")
    assert host.pystack("ls", "-q", "--filter", "name=lstwo").stdout.split() == ["flagfixlstwo"]
    assert sorted(host.pystack("ls", "-q", "--filter", "name=flagfixls").stdout.split()) == [
        "flagfixlsone", "flagfixlstwo"]
    assert host.pystack("ls", "--filter", "status=running", check=False).returncode == 2
    # a file found in the directory is listed as the file, as Compose's CONFIG FILES column does
    host.write("compose.yaml", SLEEPER.format(name="flagfixlsfound"))
    host.pystack("up", "-d")
    rows = json.loads(host.pystack("ls", "--format", "json", "--filter", "name=flagfixlsfound").stdout)
    assert [r["ConfigFiles"] for r in rows] == [str(host.workdir / "compose.yaml")]
    assert "version" in json.loads(host.pystack("version", "--format", "json").stdout)


def test_kill_leaves_orphans_unless_remove_orphans(host: Host) -> None:
    """Compose's ``kill`` signals the containers of the services the file defines; with
    ``--remove-orphans`` also those of services it no longer does (it removes nothing)."""
    two = """
name: flagfixkill
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
  old:
    image: busybox:latest
    command: ["sleep", "1000"]
    network_mode: none
"""
    f = str(host.write("compose.yaml", two))
    host.pystack("-f", f, "up", "-d")
    host.write("compose.yaml", two.split("  old:")[0])  # old is an orphan now

    def states() -> dict[str, str]:
        rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
        return {str(r["Service"]): str(r["State"]) for r in rows}

    host.pystack("-f", f, "kill")
    assert states() == {"app": "exited", "old": "running"}
    host.pystack("-f", f, "kill", "--remove-orphans")
    assert states() == {"app": "exited", "old": "exited"}
    host.pystack("-f", f, "down", "-t", "0")
    assert states() == {}


def test_parallel_caps_the_work_and_bad_values_are_one_line(host: Host) -> None:
    """``--parallel 1`` (Compose's global flag; COMPOSE_PARALLEL_LIMIT too) brings a stack up and
    down one container at a time; a value that is not a number is a usage error."""
    f = str(host.write("compose.yaml", """
name: flagfixpar
services:
  a:
    image: busybox:latest
    command: ["sleep", "1000"]
    scale: 3
  b:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    host.pystack("--parallel", "1", "-f", f, "up", "-d")
    rows = json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)
    assert sorted(r["Name"] for r in rows if r["State"] == "running") == [
        "flagfixpar-a-1", "flagfixpar-a-2", "flagfixpar-a-3", "flagfixpar-b-1"]
    host.pystack("-f", f, "down", "-t", "0", env={"COMPOSE_PARALLEL_LIMIT": "1"})
    assert json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout) == []
    bad = host.pystack("--parallel", "many", "-f", f, "ps", check=False)
    assert bad.returncode == 2 and "--parallel" in bad.stderr and "Traceback" not in bad.stderr


def test_global_dry_run_shows_changes_and_makes_none(host: Host) -> None:
    """Compose's global --dry-run: each command says what it would change; nothing changes; a
    command without a dry run is refused, never run for real."""
    f = str(host.write("compose.yaml", """
name: flagfixdry
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    volumes: ["data:/data"]
  db:
    image: busybox:latest
    command: ["sleep", "1000"]
volumes:
  data: {}
"""))
    host.pystack("-f", f, "up", "-d")

    def rows() -> list[tuple[str, str, str]]:
        return sorted((r["Name"], r["State"], r["ID"])
                      for r in json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout))

    before = rows()
    assert [s for _, s, _ in before] == ["running", "running"]
    out = host.pystack("--dry-run", "-f", f, "stop", "app").stderr
    assert out.splitlines() == ["DRY-RUN MODE - Container flagfixdry-app-1  would be stopped"]
    out = host.pystack("--dry-run", "-f", f, "kill", "-s", "TERM").stderr.splitlines()
    assert out == ["DRY-RUN MODE - Container flagfixdry-app-1  would be sent TERM",
                   "DRY-RUN MODE - Container flagfixdry-db-1  would be sent TERM"]
    out = host.pystack("--dry-run", "-f", f, "down", "-v").stderr.splitlines()
    assert "DRY-RUN MODE - Container flagfixdry-app-1  would be stopped and removed with its anonymous volumes" in out
    assert "DRY-RUN MODE - Network flagfixdry_default  would be removed" in out
    assert "DRY-RUN MODE - Volume flagfixdry_data  would be removed" in out
    plan = host.pystack("--dry-run", "-f", f, "up", "-d", "--force-recreate")
    assert "recreate" in plan.stdout
    for cmd in (("pause",), ("restart",), ("rm", "-s", "-f")):
        assert "DRY-RUN MODE - Container flagfixdry-db-1" in host.pystack("--dry-run", "-f", f, *cmd).stderr
    refused = host.pystack("--dry-run", "-f", f, "run", "--rm", "app", "true", check=False)
    assert refused.returncode == 2 and "run has no dry run here" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Compose's `alpha dry-run -- COMMAND` is the same dry run
    out = host.pystack("-f", f, "alpha", "dry-run", "--", "stop", "app").stderr
    assert out.splitlines() == ["DRY-RUN MODE - Container flagfixdry-app-1  would be stopped"]
    refused = host.pystack("-f", f, "alpha", "dry-run", "--", "exec", "app", "true", check=False)
    assert refused.returncode == 2 and "exec has no dry run here" in refused.stderr
    assert rows() == before  # the same containers, still running: nothing was changed
    assert host.pystack("-f", f, "volumes", "-q").stdout.split() == ["flagfixdry_data"]
    host.pystack("-f", f, "down", "-t", "0", "-v")


def test_run_remove_orphans_removes_only_what_the_file_no_longer_defines(host: Host) -> None:
    stack = """
name: flagfixrunorph
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  later:
    image: busybox:latest
    profiles: [extra]
{old}"""
    old = """  old:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
"""
    f = str(host.write("compose.yaml", stack.format(old=old)))
    host.pystack("-f", f, "up", "-d")
    host.write("compose.yaml", stack.format(old=""))
    kept = host.pystack("-f", f, "run", "--rm", "app", "true")
    assert "Removed" not in kept.stderr
    assert sorted(r["Name"] for r in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)) == [
        "flagfixrunorph-app-1", "flagfixrunorph-old-1"]  # without the flag an orphan stays
    res = host.pystack("-f", f, "run", "--rm", "--remove-orphans", "app", "true")
    assert "Container flagfixrunorph-old-1  Removed" in res.stderr
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert [(r["Name"], r["State"]) for r in rows] == [("flagfixrunorph-app-1", "running")]
    host.pystack("-f", f, "down", "-t", "0")


def test_config_resolve_image_digests_pins_what_is_stored_and_the_pin_runs(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: flagfixpin
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
"""))
    res = host.pystack("-f", f, "config", "--resolve-image-digests", "-o", str(host.workdir / "pinned.yaml"))
    assert res.returncode == 0, res.stderr
    pinned = (host.workdir / "pinned.yaml").read_text()
    assert re.search(r"image: busybox:latest@sha256:[0-9a-f]{64}\n", pinned), pinned
    host.pystack("-f", str(host.workdir / "pinned.yaml"), "up", "-d")  # the pin names the stored image
    rows = json_lines(host.pystack("-f", str(host.workdir / "pinned.yaml"), "ps", "--format", "json").stdout)
    assert [r["State"] for r in rows] == ["running"]
    host.pystack("-f", str(host.workdir / "pinned.yaml"), "down", "-t", "0")
    host.write("compose.yaml", "name: flagfixpin\nservices:\n  app: {image: 'not-stored-here:1'}\n")
    bad = host.pystack("-f", f, "config", "--resolve-image-digests", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("config --resolve-image-digests: image 'not-stored-here:1' of service 'app' "
                                  "is not stored here (pull it first)")


def test_ps_json_has_composes_fields_and_run_labels_show_there(host: Host) -> None:
    f = str(host.write("compose.yaml", """
name: flagfixlabels
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
    labels: {tier: web}
    ports: ["127.0.0.1:28193:80"]
"""))
    host.pystack("-f", f, "up", "-d")
    name = host.pystack("-f", f, "run", "-d", "-l", "job=nightly", "-l", "tier=batch", "app", "sleep", "100").stdout
    rows = {r["Name"]: r for r in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)}
    app = rows["flagfixlabels-app-1"]
    assert app["Project"] == "flagfixlabels" and app["Names"] == app["Name"]
    assert app["Labels"] == ("com.docker.compose.container-number=1,com.docker.compose.oneoff=False,"
                             "com.docker.compose.project=flagfixlabels,com.docker.compose.service=app,tier=web")
    assert app["Publishers"] == [{"URL": "127.0.0.1", "TargetPort": 80, "PublishedPort": 28193, "Protocol": "tcp"}]
    assert app["RunningFor"].endswith(" ago") and app["CreatedAt"].endswith(" +0000 UTC")
    one_off = rows[name.strip()]
    labels = dict(item.split("=", 1) for item in one_off["Labels"].split(","))
    assert labels["job"] == "nightly" and labels["tier"] == "batch"  # its own, over the service's
    assert labels["com.docker.compose.oneoff"] == "True"
    assert one_off["Publishers"] == [] and one_off["Ports"] == ""  # run publishes the service's ports only with -P
    bad = host.pystack("-f", f, "run", "-l", "novalue", "app", "true", check=False)
    assert bad.returncode == 2 and "expected KEY=VAL" in bad.stderr
    host.pystack("-f", f, "down", "-t", "0")


def test_ps_shows_the_ports_held_and_the_command_run(host: Host) -> None:
    """As ``docker ps``: an ephemeral published port with the host port it got, exposed ports bare,
    nothing for a container that does not run; the process's command (the image's when the service
    names none; not the init of ``init: true``), quoted and cut to 20 characters unless --no-trunc."""
    f = str(host.write("compose.yaml", """
name: flagfixpsports
services:
  app:
    image: busybox:latest
    command: [sh, -c, "echo a long command line; sleep 1000"]
    init: true
    ports: ["127.0.0.1::8080"]
    expose: ["9000"]
  once:
    image: busybox:latest
    command: ["true"]
    ports: ["127.0.0.1::8081"]
"""))
    host.pystack("-f", f, "up", "-d")
    got = host.pystack("-f", f, "port", "app", "8080").stdout.strip()
    host_port = int(got.rsplit(":", 1)[1])
    rows = {r["Service"]: r for r in json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)}
    app, once = rows["app"], rows["once"]
    assert app["Ports"] == f"127.0.0.1:{host_port}->8080/tcp, 9000/tcp"
    assert app["Publishers"] == [
        {"URL": "127.0.0.1", "TargetPort": 8080, "PublishedPort": host_port, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 9000, "PublishedPort": 0, "Protocol": "tcp"}]
    assert app["Command"] == "sh -c 'echo a long command line; sleep 1000'"
    assert once["State"] == "exited" and once["Ports"] == "" and once["Publishers"] == []
    table = host.pystack("-f", f, "ps", "app").stdout
    assert "\"sh -c 'echo a long …\"" in table and f"127.0.0.1:{host_port}->8080/tcp" in table
    assert "\"sh -c 'echo a long command line; sleep 1000'\"" in host.pystack("-f", f, "ps", "--no-trunc").stdout
    host.pystack("-f", f, "down", "-t", "0")


def test_up_remove_orphans_removes_them_and_a_profiled_service_is_no_orphan(host: Host) -> None:
    stack = """
name: flagfixuporph
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  extra:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    profiles: [x]
{old}"""
    old = """  old:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
"""
    f = str(host.write("compose.yaml", stack.format(old=old)))
    host.pystack("--profile", "x", "-f", f, "up", "-d")
    host.write("compose.yaml", stack.format(old=""))
    warned = host.pystack("-f", f, "up", "-d").stderr
    assert "orphan container flagfixuporph-old-1" in warned
    assert "flagfixuporph-extra-1" not in warned  # defined, only left out by a profile
    quiet = host.pystack("-f", f, "up", "-d", env={"COMPOSE_IGNORE_ORPHANS": "true"}).stderr
    assert "orphan" not in quiet  # COMPOSE_IGNORE_ORPHANS: neither warned about nor removed
    # COMPOSE_REMOVE_ORPHANS as --remove-orphans, here from the project's .env (the shell leaves it
    # unset); COMPOSE_STATUS_STDOUT puts the status lines on stdout
    host.write(".env", "# settings\nexport COMPOSE_REMOVE_ORPHANS='true'\n")
    res = host.pystack("-f", f, "up", "-d", env={"COMPOSE_STATUS_STDOUT": "1"})
    (host.workdir / ".env").unlink()
    assert "Container flagfixuporph-old-1  Removed" in res.stdout and "Removed" not in res.stderr, res
    rows = json_lines(host.pystack("-f", f, "ps", "-a", "--format", "json").stdout)
    assert sorted((r["Service"], r["State"]) for r in rows) == [("app", "running"), ("extra", "running")]
    host.pystack("-f", f, "down", "-t", "0")


def test_compatibility_names_with_underscores_as_compose_v1(host: Host) -> None:
    """``--compatibility`` (or COMPOSE_COMPATIBILITY) names new containers, one-offs and built images
    ``project_service_1``; a later command without it keeps them, found by project, service and number."""
    f = str(host.write("compose.yaml", """
name: flagcompat
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
  built:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        RUN echo made > /made
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "--compatibility", "up", "-d")
    before = {c["Name"]: c["ID"] for c in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)}
    assert sorted(before) == ["flagcompat_app_1", "flagcompat_built_1"]
    images = host.pystack("image", "ls").stdout
    assert re.search(r"^flagcompat_built\s", images, re.M) and not re.search(r"^flagcompat-built\s", images, re.M)

    host.pystack("-f", f, "up", "-d", "app")  # without the flag: the same container, not a second one
    after = {c["Name"]: c["ID"] for c in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)}
    assert after == before
    # and `up app`, as Compose's, neither builds nor pulls the images of services it leaves alone
    assert not re.search(r"^flagcompat-built\s", host.pystack("image", "ls").stdout, re.M)
    host.pystack("-f", f, "up", "-d", "--scale", "app=2", "app")
    names = sorted(c["Name"] for c in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout))
    assert names == ["flagcompat-app-2", "flagcompat_app_1", "flagcompat_built_1"]
    one_off = host.pystack("-f", f, "run", "-d", "app", "sleep", "100", env={"COMPOSE_COMPATIBILITY": "1"}).stdout
    assert re.fullmatch(r"flagcompat_app_run_[0-9a-f]{12}", one_off.strip()), one_off
    host.pystack("-f", f, "--compatibility", "down", "-t", "0", "--rmi", "local")
    assert "flagcompat" not in host.pystack("image", "ls").stdout


def test_a_global_option_from_the_env_file_under_the_command_line(host: Host) -> None:
    """COMPOSE_PROGRESS in the project's .env sets --progress (read after the group's options were
    parsed, so re-read there); the command line still wins over it."""
    f = str(host.write("compose.yaml", SLEEPER.format(name="flagdotenvprog")))
    host.write(".env", "COMPOSE_PROGRESS=quiet\n")
    quiet = host.pystack("-f", f, "up", "-d")
    assert "Started" not in quiet.stderr + quiet.stdout, quiet
    plain = host.pystack("-f", f, "--progress", "plain", "up", "-d", "--force-recreate", "-t", "0")
    assert "Container flagdotenvprog-app-1  Started" in plain.stderr, plain
    (host.workdir / ".env").unlink()
    host.pystack("-f", f, "down", "-t", "0")


def test_images_lists_the_images_of_the_projects_containers(host: Host) -> None:
    """Compose's ``images [SERVICE...]``: one row per container of the project, one-offs too;
    ``image ls`` lists the whole store."""
    f = str(host.write("compose.yaml", """
name: flagfiximages
services:
  app:
    image: busybox:latest
    command: ["sleep", "1000"]
  built:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        RUN echo made > /made
    command: ["sleep", "1000"]
"""))
    host.pystack("-f", f, "up", "-d")
    host.pystack("image", "tag", "busybox:latest", "elsewhere/unused:1")
    rows = [line.split() for line in host.pystack("-f", f, "images").stdout.splitlines()]
    assert rows[0] == ["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE", "ID", "SIZE", "CREATED"]
    assert [r[:4] for r in rows[1:]] == [["flagfiximages-app-1", "busybox", "latest", "linux/amd64"],
                                         ["flagfiximages-built-1", "flagfiximages-built", "latest", "linux/amd64"]]
    doc = json.loads(host.pystack("-f", f, "images", "--format", "json", "built").stdout)
    assert [(d["ContainerName"], d["Repository"], d["Tag"]) for d in doc] == [
        ("flagfiximages-built-1", "flagfiximages-built", "latest")]
    assert doc[0]["ID"].startswith("sha256:") and doc[0]["Size"] > 0
    ids = host.pystack("-f", f, "images", "-q").stdout.split()
    assert len(ids) == 2 and all(len(i) == 64 for i in ids)
    assert "elsewhere/unused" in host.pystack("image", "ls").stdout
    bad = host.pystack("-f", f, "images", "nope", check=False)
    assert bad.returncode != 0 and "no such service: nope" in bad.stderr
    host.pystack("image", "rm", "elsewhere/unused:1")
    host.pystack("-f", f, "down", "-t", "0", "--rmi", "local")


def test_a_service_failure_names_the_service_once(host: Host) -> None:
    """A replica that cannot publish the port its sibling holds: the error names the service once."""
    f = str(host.write("compose.yaml", """
name: flagfixonce
services:
  web:
    image: busybox:latest
    command: ["sleep", "1000"]
    ports: ["127.0.0.1:28197:80"]
    scale: 2
"""))
    res = host.pystack("-f", f, "up", "-d", check=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    failed = [line for line in res.stderr.splitlines() if "cannot publish port" in line]
    assert failed and all(line.startswith("service web: cannot publish") for line in failed), res.stderr
    assert "service web: service web" not in res.stderr
    host.pystack("-f", f, "down", "-t", "0")


def test_quiet_build_and_run_quiet_keep_the_progress_out(host: Host) -> None:
    """``--quiet-build`` (up, create, run) hides the build's steps and RUN output; ``run -q`` prints no
    progress at all (the dependency it starts, the build), only what the container writes."""
    def stack(marker: int) -> str:  # a new RUN line each time: the step really runs, no cache hit
        return str(host.write("compose.yaml", f"""
name: flagquiet
services:
  dep:
    image: busybox:latest
    command: ["sleep", "1000"]
  app:
    image: flagquiet-app
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        RUN echo step-output-marker-{marker}
    command: ["echo", "from-the-container"]
    depends_on: [dep]
"""))

    f = stack(1)
    loud = host.pystack("-f", f, "create", "--build", "app")
    assert "step-output-marker-1" in loud.stderr and "Image flagquiet-app  Built" in loud.stderr
    f = stack(2)
    built = host.pystack("-f", f, "up", "-d", "--build", "--quiet-build")
    assert "step-output-marker" not in built.stdout + built.stderr and "#1" not in built.stderr
    assert "Image flagquiet-app  Built" in built.stderr
    host.pystack("-f", f, "down", "-t", "0")
    f = stack(3)
    out = host.pystack("-f", f, "run", "-q", "--rm", "--build", "app")
    assert out.stdout == "from-the-container\n" and out.stderr == ""  # dep started and app built, silently
    assert [r["Service"] for r in json_lines(host.pystack("-f", f, "ps", "--format", "json").stdout)] == ["dep"]
    f = stack(4)
    out = host.pystack("-f", f, "run", "--quiet-build", "--rm", "--build", "app")
    assert out.stdout == "from-the-container\n" and "step-output-marker" not in out.stderr
    assert "Image flagquiet-app  Built" in out.stderr
    host.pystack("-f", f, "down", "-t", "0")
