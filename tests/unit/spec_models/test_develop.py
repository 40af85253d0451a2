"""develop.watch: rules normalized with their paths made absolute, and every bad entry reported at its path."""

from __future__ import annotations

from .helpers import errors, service, service_errors


def test_rules_are_normalized_against_the_project_directory() -> None:
    svc = service({
        "build": ".",
        "develop": {"watch": [
            {"path": "./web/html", "action": "sync", "target": "/var/www", "ignore": ["node_modules/"]},
            {"path": "src", "action": "rebuild"},
            {"path": "/etc/app.conf", "action": "sync+exec", "target": "/etc/app.conf", "initial_sync": "true",
             "include": "*.conf", "exec": {"command": "app reload", "user": "root", "environment": ["A=1"]}},
            {"path": "cfg", "action": "restart", "x-note": "extensions are skipped"},
        ]},
    })
    assert svc.develop == {"watch": [
        {"path": "/srv/proj/web/html", "action": "sync", "target": "/var/www", "ignore": ["node_modules/"],
         "include": [], "initial_sync": False},
        {"path": "/srv/proj/src", "action": "rebuild", "ignore": [], "include": [], "initial_sync": False},
        {"path": "/etc/app.conf", "action": "sync+exec", "target": "/etc/app.conf", "ignore": [],
         "include": ["*.conf"], "initial_sync": True,
         "exec": {"command": ["app", "reload"], "user": "root", "environment": {"A": "1"}}},
        {"path": "/srv/proj/cfg", "action": "restart", "ignore": [], "include": [], "initial_sync": False},
    ]}


def test_every_bad_rule_is_reported_at_its_own_path() -> None:
    lines = service_errors({"build": ".", "develop": {"watch": [
        {"path": "a", "action": "copy"},
        {"action": "sync", "target": "rel/dir"},
        {"path": "b", "action": "sync"},
        {"path": "c", "action": "sync+exec", "target": "/c"},
        {"path": "d", "action": "sync+exec", "target": "/d", "exec": {"user": "root"}},
        {"path": "e", "action": "sync", "target": "/e", "tagret": "/x"},
        "f",
    ], "watcher": True}})
    assert lines == [
        "services.svc.develop.watch[0].action: unknown action 'copy' (one of sync, rebuild, restart, sync+restart, "
        "sync+exec)",
        "services.svc.develop.watch[1].target: 'rel/dir': the path in the container must be absolute",
        "services.svc.develop.watch[1].path: a watch rule needs a path",
        "services.svc.develop.watch[2].target: action sync needs a target (where the files go in the container)",
        "services.svc.develop.watch[3].exec: action sync+exec needs an exec (the command to run after a sync)",
        "services.svc.develop.watch[4].exec.command: a hook needs a command",
        "services.svc.develop.watch[5].tagret: unknown key 'tagret' (a watch rule has path, action, target, "
        "ignore, include, exec, initial_sync)",
        "services.svc.develop.watch[6]: expected a mapping with a path and an action",
        "services.svc.develop.watcher: unknown key 'watcher' (develop has watch)",
    ]


def test_rebuild_needs_a_build_section() -> None:
    lines = errors({"services": {"web": {"image": "busybox", "develop": {"watch": [
        {"path": "src", "action": "rebuild"}]}}}})
    assert lines == ["services.web.develop.watch[0].action: action rebuild needs the service to have a build "
                     "section (its image is rebuilt)"]


def test_watch_rules_do_not_change_the_configuration_hash() -> None:
    """They drive `pystack watch`, not the container: editing them must not recreate it."""
    plain = service({}).config_hash()
    watched = service({"develop": {"watch": [{"path": "x", "action": "sync", "target": "/x"}]}}).config_hash()
    assert watched == plain
