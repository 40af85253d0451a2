"""The planner decides from data alone: each rule of Compose's convergence, one test."""

from __future__ import annotations

from orchestrator.plan.diff import changed_paths, summarize
from orchestrator.plan.model import Dependency, DesiredService, ObservedContainer
from orchestrator.plan.planner import PlanOptions, make_plan

ORDER: list[list[str]] = [["db"], ["api"], ["web"]]


def desired(**hashes: str) -> list[DesiredService]:
    deps = {"api": (Dependency("db", restart=True),), "web": (Dependency("api"),)}
    return [DesiredService(n, h, depends_on=deps.get(n, ()), spec={"image": h}) for n, h in hashes.items()]


def running(service: str, h: str, number: int = 1, status: str = "running") -> ObservedContainer:
    return ObservedContainer(f"id-{service}-{number}", f"p-{service}-{number}", service, number, h, status,
                             spec={"image": h})


def test_fresh_stack_creates_every_service_in_order() -> None:
    plan = make_plan("p", desired(db="a", api="b", web="c"), [], ORDER)
    assert [(a.kind, a.service) for a in plan.actions] == [("create", "db"), ("create", "api"), ("create", "web")]
    assert all(a.reason == "new service" for a in plan.actions)


def test_unchanged_running_stack_has_empty_plan() -> None:
    obs = [running("db", "a"), running("api", "b"), running("web", "c")]
    plan = make_plan("p", desired(db="a", api="b", web="c"), obs, ORDER)
    assert plan.empty


def test_changed_hash_recreates_with_the_changed_key_as_reason() -> None:
    obs = [running("db", "a"), running("api", "b"), running("web", "c")]
    plan = make_plan("p", desired(db="a", api="b", web="c2"), obs, ORDER)
    assert [a.describe() for a in plan.actions] == ["recreate p-web-1: image changed"]


def test_restart_true_dependants_follow_a_recreated_dependency() -> None:
    obs = [running("db", "a"), running("api", "b"), running("web", "c")]
    plan = make_plan("p", desired(db="a2", api="b", web="c"), obs, ORDER)
    kinds = [(a.kind, a.service, a.reason) for a in plan.actions]
    assert ("recreate", "api", "dependency db recreated") in kinds
    assert all(a.service != "web" for a in plan.actions)  # web's depends_on has no restart: true


def test_stopped_container_is_started_not_recreated() -> None:
    obs = [running("db", "a", status="exited")]
    plan = make_plan("p", desired(db="a"), obs, [["db"]])
    assert [(a.kind, a.reason) for a in plan.actions] == [("start", "container exited")]


def test_scale_up_and_down() -> None:
    obs = [running("db", "a", 1), running("db", "a", 2), running("db", "a", 3)]
    down = make_plan("p", desired(db="a"), obs, [["db"]])
    assert sorted((a.kind, a.number) for a in down.actions) == [("remove", 2), ("remove", 3)]
    up = make_plan("p", desired(db="a"), obs[:1], [["db"]], PlanOptions(scale={"db": 3}))
    assert sorted((a.kind, a.number) for a in up.actions) == [("create", 2), ("create", 3)]


def test_half_created_container_is_recreated() -> None:
    plan = make_plan("p", desired(db="a"), [running("db", "a", status="creating")], [["db"]])
    assert [(a.kind, a.reason) for a in plan.actions] == [("recreate", "left creating by an interrupted run")]


def test_force_and_no_recreate() -> None:
    obs = [running("db", "a")]
    forced = make_plan("p", desired(db="a"), obs, [["db"]], PlanOptions(force_recreate=True))
    assert [a.kind for a in forced.actions] == ["recreate"]
    assert make_plan("p", desired(db="z"), obs, [["db"]], PlanOptions(no_recreate=True)).empty


def test_force_recreate_forces_the_named_services_and_not_their_dependencies() -> None:
    """``up --force-recreate web`` recreates web; db, brought along as its dependency, is
    recreated only when it changed, or with --always-recreate-deps (Compose's two strategies)."""
    obs = [running("db", "a"), running("api", "b"), running("web", "c")]
    want = desired(db="a", api="b", web="c")
    forced = make_plan("p", want, obs, ORDER, PlanOptions(force_recreate=True, selected=frozenset({"web"})))
    assert [(a.kind, a.service, a.reason) for a in forced.actions] == [("recreate", "web", "--force-recreate")]
    deps = make_plan("p", want, obs, ORDER, PlanOptions(recreate_deps=True, selected=frozenset({"web"})))
    assert {(a.kind, a.service) for a in deps.actions} == {("recreate", "db"), ("recreate", "api")}
    assert [a.reason for a in deps.actions if a.service == "db"] == ["--always-recreate-deps"]
    assert make_plan("p", want, obs, ORDER, PlanOptions(recreate_deps=True, no_recreate=True,
                                                         selected=frozenset({"web"}))).empty


def test_orphans_warn_or_are_removed() -> None:
    obs = [running("old", "x")]
    plan = make_plan("p", desired(db="a"), obs, [["db"]])
    assert plan.warnings and "orphan" in plan.warnings[0]
    assert not any(a.service == "old" for a in plan.actions)
    plan = make_plan("p", desired(db="a"), obs, [["db"]], PlanOptions(remove_orphans=True))
    assert ("remove", "old") in [(a.kind, a.service) for a in plan.actions]


def test_changed_paths_names_nested_keys() -> None:
    old = {"environment": {"DEBUG": "0", "A": "1"}, "image": "x"}
    new = {"environment": {"DEBUG": "1", "B": "2"}, "image": "x"}
    assert changed_paths(old, new) == ["environment.A removed", "environment.B added", "environment.DEBUG changed"]
    assert summarize(["a", "b", "c", "d"]) == "a, b, c (+1 more)"


def test_a_service_the_file_defines_is_never_an_orphan() -> None:
    """One a profile leaves out (or that the command did not name) is left alone, not warned about
    and not removed with --remove-orphans: only services the file no longer has are orphans."""
    obs = [running("old", "x"), running("later", "y")]
    for options in (PlanOptions(), PlanOptions(remove_orphans=True)):
        plan = make_plan("p", desired(db="a"), obs, [["db"]], options, defined={"db", "later"})
        assert not any("later" in w for w in plan.warnings)
        assert not any(a.service == "later" for a in plan.actions)
        if options.remove_orphans:
            assert ("remove", "old") in [(a.kind, a.service) for a in plan.actions]
        else:
            assert [w for w in plan.warnings if "orphan container" in w and "'old'" in w]
