"""The ``pystack`` command as a ``python -I -S`` script with its module path written in.

pip's console script starts the interpreter with ``site``: every ``.pth`` hook in site-packages
runs, and an editable install's import finder loads, before pystack's first line. On the
development machine that was 40 ms of every command, a quarter of an ``up`` with nothing to do.
The launcher starts without ``site`` and puts back the module path that ``site`` had built when
the launcher was written (``tools/install-deps.sh`` rewrites it after every install), so imports
resolve as they did. What it gives up: ``PYTHON*`` variables and the user's site directory, which
``-I`` ignores; pystack reads neither.

``python -m orchestrator.launcher [TARGET]`` writes it over pip's script (or at TARGET).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from orchestrator.isolated import CODE_ROOT

MARK = "# pystack launcher"


def render(python: str, path: list[str]) -> str:
    """The script's text. The shebang passes ``-IS`` as one word (Linux hands the interpreter
    a single argument after its path)."""
    if any(c.isspace() for c in python):
        raise ValueError(f"the interpreter's path has a space, which a shebang cannot hold: {python!r}")
    return (f"#!{python} -IS\n{MARK}: written by `python -m orchestrator.launcher`; see its docstring.\n"
            f"import sys\nsys.path[:0] = {path!r}\n"
            "from orchestrator.cli.entry import run\nrun()\n")


def module_path(entries: list[str]) -> list[str]:
    """pystack's code first, then ``entries`` (a ``sys.path`` built by ``site``) without blanks,
    duplicates or pystack's own directory."""
    out = [CODE_ROOT]
    for p in entries:
        if p and p not in out:
            out.append(p)
    return out


def write(target: Path, text: str) -> None:
    """Replace ``target`` in one rename, so a command started meanwhile sees the old or the new."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(target)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(sysconfig.get_path("scripts")) / "pystack"
    try:
        # run as ``-m``, sys.path[0] is the working directory: not part of the installed path
        text = render(sys.executable, module_path(sys.path[1:]))
    except ValueError as exc:  # pip's script still works, only slower: keep it and say why
        print(f"launcher: {exc}; {target} stays as pip wrote it", file=sys.stderr)
        return 0
    write(target, text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
