"""develop.watch rules: which changed paths count, where they go in the container, what a batch asks."""

from __future__ import annotations

from typing import Any

from orchestrator.develop.rules import Rule, prunable, route, rules_of


def _rules(*watch: dict[str, Any], context: str | None = None, dockerignore: tuple[str, ...] = ()) -> list[Rule]:
    rules = [{"ignore": [], "include": [], "initial_sync": False, **w} for w in watch]
    return rules_of("web", {"watch": rules}, context=context, dockerignore=dockerignore)


def test_a_change_below_the_path_goes_below_the_target() -> None:
    rules = _rules({"path": "/p/html", "action": "sync", "target": "/var/www"})
    work = route(rules, ["/p/html/index.html", "/p/html/css/a.css", "/p/html", "/p/other/x", "/p/htmlx/y"])
    assert list(work) == ["web"]
    assert work["web"].sync == {"/var/www/index.html": "/p/html/index.html", "/var/www/css/a.css": "/p/html/css/a.css",
                                "/var/www": "/p/html"}
    assert work["web"].changes == 3
    assert not (work["web"].restart or work["web"].rebuild or work["web"].execs)


def test_a_file_path_syncs_to_the_target_itself() -> None:
    rules = _rules({"path": "/p/nginx.conf", "action": "sync+restart", "target": "/etc/nginx/nginx.conf"})
    work = route(rules, ["/p/nginx.conf", "/p/nginx.conf.bak"])
    assert work["web"].sync == {"/etc/nginx/nginx.conf": "/p/nginx.conf"}
    assert work["web"].restart


def test_ignored_paths_git_and_editor_files_do_not_count() -> None:
    rules = _rules({"path": "/p/src", "action": "sync", "target": "/app", "ignore": ["node_modules/", "*.log"]},
                   context="/p", dockerignore=("src/secret.txt",))
    changed = ["/p/src/node_modules/x/index.js", "/p/src/debug.log", "/p/src/.git/HEAD", "/p/src/a.py~",
               "/p/src/.a.py.swp", "/p/src/4913", "/p/src/.#a.py", "/p/src/secret.txt", "/p/src/a.py"]
    assert route(rules, changed)["web"].sync == {"/app/a.py": "/p/src/a.py"}


def test_include_limits_what_counts() -> None:
    rules = _rules({"path": "/p/src", "action": "restart", "include": ["*.py"]})
    assert route(rules, ["/p/src/readme.md"]) == {}
    assert route(rules, ["/p/src/main.py"])["web"].restart


def test_a_rebuild_stands_for_the_whole_batch() -> None:
    rules = _rules({"path": "/p/src", "action": "sync", "target": "/app"},
                   {"path": "/p/deps.txt", "action": "rebuild"},
                   {"path": "/p/src", "action": "sync+exec", "target": "/app", "exec": {"command": ["reload"]}})
    both = route(rules, ["/p/src/a.py", "/p/deps.txt"])["web"]
    assert both.rebuild and not both.sync and not both.execs
    sync_only = route(rules, ["/p/src/a.py"])["web"]
    assert sync_only.sync == {"/app/a.py": "/p/src/a.py"} and sync_only.execs == [{"command": ["reload"]}]


def test_directories_nothing_can_count_in_are_pruned() -> None:
    rules = _rules({"path": "/p/src", "action": "sync", "target": "/app", "ignore": ["node_modules"]},
                   {"path": "/p/conf/app.ini", "action": "restart"})
    assert prunable(rules, "/p/src/node_modules")
    assert prunable(rules, "/p/src/.git")
    assert not prunable(rules, "/p/src/lib")
    assert not prunable(rules, "/p/conf")  # on the way to a watched file
    assert prunable(rules, "/p/conf/cache")  # beside it
    exceptions = _rules({"path": "/p/src", "action": "sync", "target": "/app", "ignore": ["build", "!build/keep"]})
    assert not prunable(exceptions, "/p/src/build")  # an exception may reach into it
