"""The ``pystack`` command line.

Commands are registered by name → ``module:attribute`` and imported only when invoked, so that
``pystack --version`` and light commands never pay for pydantic or networkx.
Every command turns a :class:`~orchestrator.errors.PystackError` into one line on stderr and
its exit code; any other exception is our bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from orchestrator import __version__

# name -> "module:attribute" of a click.Command; each stage adds its own commands here.
COMMANDS: dict[str, str] = {
    "config": "orchestrator.cli.config_cmd:config",
    "graph": "orchestrator.cli.graph_cmd:graph",
    "runtime": "orchestrator.cli.runtime_cmd:runtime",
    "image": "orchestrator.cli.image_cmd:image",
    "images": "orchestrator.cli.image_cmd:images",
    "pull": "orchestrator.cli.stack_images_cmd:pull",
    "push": "orchestrator.cli.stack_images_cmd:push",
    "login": "orchestrator.cli.image_cmd:login",
    "build": "orchestrator.cli.stack_images_cmd:build",
    "stats": "orchestrator.cli.stack_images_cmd:stats",
    "cp": "orchestrator.cli.stack_images_cmd:cp",
    "commit": "orchestrator.cli.commit_cmd:commit",
    "export": "orchestrator.cli.commit_cmd:export",
    "create": "orchestrator.cli.up_cmd:create",
    "network": "orchestrator.cli.network_cmd:network",
    "version": "orchestrator.cli.version_cmd:version",
    "up": "orchestrator.cli.up_cmd:up",
    "down": "orchestrator.cli.down_cmd:down",
    "ps": "orchestrator.cli.ps_cmd:ps",
    "ls": "orchestrator.cli.ps_cmd:ls",
    "logs": "orchestrator.cli.logs_cmd:logs",
    "start": "orchestrator.cli.lifecycle_cmd:start",
    "stop": "orchestrator.cli.lifecycle_cmd:stop",
    "restart": "orchestrator.cli.lifecycle_cmd:restart",
    "kill": "orchestrator.cli.lifecycle_cmd:kill",
    "pause": "orchestrator.cli.lifecycle_cmd:pause",
    "unpause": "orchestrator.cli.lifecycle_cmd:unpause",
    "rm": "orchestrator.cli.lifecycle_cmd:rm",
    "exec": "orchestrator.cli.exec_cmd:exec_",
    "run": "orchestrator.cli.exec_cmd:run",
    "port": "orchestrator.cli.exec_cmd:port",
    "top": "orchestrator.cli.exec_cmd:top",
    "attach": "orchestrator.cli.attach_cmd:attach",
    "events": "orchestrator.cli.events_cmd:events",
    "wait": "orchestrator.cli.wait_cmd:wait",
    "scale": "orchestrator.cli.scale_cmd:scale",
    "volumes": "orchestrator.cli.volumes_cmd:volumes",
    "watch": "orchestrator.cli.watch_cmd:watch",
    "publish": "orchestrator.cli.publish_cmd:publish",
    "alpha": "orchestrator.cli.alpha_cmd:alpha",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        cmd = getattr(module, attr)
        assert isinstance(cmd, click.Command)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-v", prog_name="pystack", message="%(prog)s version %(version)s")
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Stack file (repeatable).")
@click.option("-p", "--project-name", default=None, help="Project name.")
@click.option("--project-directory", default=None, help="Working directory of the project.")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (repeatable).")
@click.option("--env-file", "env_files", multiple=True, help="An alternate environment file (repeatable).")
@click.option("--root", default=None, envvar="PYSTACK_ROOT", help="State directory [default: /var/lib/pystack].")
@click.option("--ansi", type=click.Choice(["never", "always", "auto"]), default="auto", envvar="COMPOSE_ANSI",
              help="Colour in log prefixes: never, always, or when writing to a terminal.")
@click.option("--progress", type=click.Choice(["auto", "tty", "plain", "quiet", "json"]), default="auto",
              envvar="COMPOSE_PROGRESS",
              help="Progress lines: plain lines, tty marks, quiet, or JSON events.")
@click.option("--compatibility", is_flag=True, envvar="COMPOSE_COMPATIBILITY",
              help="Run compose in backward compatibility mode: names joined with _ as Compose v1's.")
@click.option("--parallel", type=int, default=-1, envvar="COMPOSE_PARALLEL_LIMIT", show_default=True,
              help="Control max parallelism, -1 for unlimited.")
@click.option("--dry-run", is_flag=True, help="Execute command in dry run mode: show the changes, make none.")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    files: tuple[str, ...],
    project_name: str | None,
    project_directory: str | None,
    profiles: tuple[str, ...],
    env_files: tuple[str, ...],
    root: str | None,
    ansi: str,
    progress: str,
    compatibility: bool,
    parallel: int,
    dry_run: bool,
    debug: bool,
) -> None:
    """pystack: Compose-compatible stacks on pystack's own container engine."""
    from orchestrator.cli import dotenv_settings

    dotenv_texts = dotenv_settings.read(
        dotenv_settings.env_files(list(files), project_directory, list(env_files), os.environ))
    named = dotenv_settings.apply(dotenv_texts, os.environ)
    if named:  # the group's own options were read before the .env was: those left to their default
        given = _from_env(ctx, named)
        ansi, progress = given.get("ansi", ansi), given.get("progress", progress)
        parallel, compatibility = given.get("parallel", parallel), given.get("compatibility", compatibility)
    if dry_run:
        from orchestrator.cli import dry_run as dry

        dry.check(ctx.invoked_subcommand)
    from orchestrator.cli.fast_argv import Globals, global_options

    opts = global_options(Globals(
        files=tuple(files), project_name=project_name, project_directory=project_directory, profiles=tuple(profiles),
        env_files=tuple(env_files), root=root, ansi=ansi, progress=progress, compatibility=compatibility,
        parallel=parallel, debug=debug))
    opts.dry_run = dry_run
    if any(f.startswith("oci://") for f in opts.files):
        from orchestrator.cli.remote_stack import materialize

        materialize(opts)
    elif not opts.files and ("oci://" in os.environ.get("COMPOSE_FILE", "") or (
            "COMPOSE_FILE" not in os.environ and any("oci://" in text for _, text in dotenv_texts))):
        from orchestrator.cli.remote_stack import materialize_compose_file

        materialize_compose_file(os.environ, dotenv_texts, opts.root)
    ctx.obj = opts


def _from_env(ctx: click.Context, names: list[str]) -> dict[str, Any]:
    """The group options whose variable among ``names`` now has a value and that the command line
    left unset, converted as click converts them."""
    from click.core import ParameterSource

    out: dict[str, Any] = {}
    for param in ctx.command.params:
        if isinstance(param.envvar, str) and param.envvar in names and param.name is not None \
                and ctx.get_parameter_source(param.name) in (ParameterSource.DEFAULT, None):
            out[param.name] = param.type_cast_value(ctx, os.environ[param.envvar])
    return out


def main(argv: list[str] | None = None) -> Any:
    from orchestrator.cli.failures import report
    from orchestrator.errors import PystackError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="pystack", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code != 1 else 2)
    except PystackError as exc:
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug or os.environ.get("PYSTACK_DEBUG"):
            raise
        sys.exit(report(exc))


def run() -> NoReturn:
    """The entry point of scripts written before :mod:`orchestrator.cli.entry` existed."""
    from orchestrator.cli.entry import run as entry_run

    entry_run()


if __name__ == "__main__":
    run()
