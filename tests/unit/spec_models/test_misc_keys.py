"""The simpler keys: booleans from strings, lists of strings, devices, configs/secrets, logging, warned keys."""

from __future__ import annotations

from .helpers import errors, service, service_errors, stack


def test_booleans_and_strings() -> None:
    svc = service({"privileged": "true", "read_only": True, "init": "false", "tty": "yes", "stdin_open": False,
                   "user": 1000, "working_dir": "/app", "stop_signal": "SIGINT", "stop_grace_period": "1m"})
    assert (svc.privileged, svc.read_only, svc.init, svc.tty, svc.user, svc.stop_grace_period) == (
        True, True, False, True, "1000", 60.0)


def test_defaults() -> None:
    svc = service({})
    assert (svc.stop_signal, svc.stop_grace_period, svc.init, svc.scale) == (None, 10.0, None, 1)


def test_an_unset_stop_signal_hashes_as_sigterm_did() -> None:
    """Unset means the image's STOPSIGNAL now; services that never set one keep their hash, so an
    upgrade recreates nothing for it."""
    assert service({}).config_hash() == service({"stop_signal": "SIGTERM"}).config_hash()
    assert service({}).config_hash() != service({"stop_signal": "SIGINT"}).config_hash()


def test_devices_short_to_long() -> None:
    devs = service({"devices": ["/dev/fuse", "/dev/sda:/dev/xvda:r"]}).devices
    assert [(d.source, d.target, d.permissions) for d in devs] == [("/dev/fuse", "/dev/fuse", "rwm"),
                                                                    ("/dev/sda", "/dev/xvda", "r")]


def test_configs_and_secrets() -> None:
    s = stack({"services": {"a": {"image": "x", "configs": ["c"], "secrets": [{"source": "s", "target": "/run/s",
                                                                                "mode": "0400"}]}},
               "configs": {"c": {"file": "./c.txt"}}, "secrets": {"s": {"environment": "TOKEN"}}})
    a = s.services["a"]
    assert a.configs[0].source == "c" and a.secrets[0].mode == 0o400
    assert s.configs["c"].file == "/srv/proj/c.txt" and s.secrets["s"].name == "proj_s"


def test_undeclared_config_and_bad_secret() -> None:
    lines = errors({"services": {"a": {"image": "x", "configs": ["c"]}}, "secrets": {"s": {}}})
    assert "secrets.s: needs exactly one of file, environment or content (or external: true)" in lines
    assert "services.a.configs[0]: config 'c' is used but not declared" in lines


def test_secret_and_config_drivers_load_with_a_warning_each() -> None:
    s = stack({"services": {"a": {"image": "x"}},
               "secrets": {"s": {"file": "./s.txt", "driver": "vault", "driver_opts": {"path": "kv/s"},
                                 "template_driver": "golang"},
                           "plain": {"environment": "TOKEN", "driver_opts": {}}},
               "configs": {"c": {"content": "x", "template_driver": "golang"}}})
    assert s.secrets["s"].driver == "vault" and s.configs["c"].template_driver == "golang"
    assert sorted(w for w in s.warnings if "driver" in w) == [
        "configs.c.template_driver: accepted but not honoured by pystack (the config is mounted as it is, "
        "not rendered as a template)",
        "secrets.s.driver: accepted but not honoured by pystack (secret drivers are not provided; the value "
        "comes from `file` or `environment`)",
        "secrets.s.driver_opts: accepted but not honoured by pystack (secret drivers are not provided)",
        "secrets.s.template_driver: accepted but not honoured by pystack (the secret is mounted as it is, "
        "not rendered as a template)"]


def test_logging() -> None:
    log = service({"logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}}}).logging
    assert log is not None and log.options == {"max-size": "10m", "max-file": "3"}


def test_warned_key_loads_with_one_line() -> None:
    s = stack({"services": {"a": {"image": "x", "gpus": "all", "develop": {"watch": []}}}})
    assert s.services["a"].gpus == "all"
    assert [w for w in s.warnings if "gpus" in w] == [
        "services.a.gpus: accepted but not honoured by pystack yet (GPU devices are not passed through)"]


def test_unknown_service_key_with_suggestion() -> None:
    [line] = service_errors({"enviroment": {}})
    assert line == "services.svc.enviroment: unknown key (did you mean 'environment'?)"


def test_type_error_in_pydantic_words_never_shown() -> None:
    lines = service_errors({"cap_add": "ALL", "privileged": "maybe", "hostname": ["a"], "cgroup": "both"})
    assert all("validation error" not in line and "pydantic" not in line for line in lines)
    assert len(lines) == 4


def test_x_extensions_kept() -> None:
    s = stack({"services": {"a": {"image": "x", "x-note": {"k": 1}}}, "x-common": [1, 2],
               "networks": {"n": {"x-n": True}}})
    assert s.services["a"].extensions == {"x-note": {"k": 1}} and s.extensions == {"x-common": [1, 2]}
    assert s.networks["n"].extensions == {"x-n": True}


def test_version_is_obsolete() -> None:
    s = stack({"version": "3.8", "services": {}})
    assert s.warnings == ["version: the attribute is obsolete and ignored"]


def test_unknown_top_level_key() -> None:
    assert errors({"servics": {}}) == ["servics: unknown key (did you mean 'services'?)"]
