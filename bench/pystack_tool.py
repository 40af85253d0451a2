"""pystack as the benchmark drives it: through its command line, exactly as a user pays for it.

Every figure asks :meth:`Pystack.missing` first: while another part of pystack is still being written,
the command does not exist yet and the figure reports ``unavailable: <reason>`` instead of a number.
Once the command exists, a failure is a failure (and makes the smoke test fail).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from bench import cmd

REPO = Path(__file__).resolve().parent.parent


class Pystack:
    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "pystack-root"
        self.root.mkdir(parents=True, exist_ok=True)
        # The console script beside this interpreter: a version manager's shim on PATH (pyenv's is a
        # bash script) would add its own start-up to every figure.
        beside = Path(sys.executable).parent / "pystack"
        exe = str(beside) if beside.exists() else shutil.which("pystack")
        self.exe = [exe] if exe else [sys.executable, "-m", "orchestrator"]
        self.env = {"PYSTACK_ROOT": str(self.root)}
        self.image = "busybox:latest"
        self._help: dict[tuple[str, ...], str | None] = {}
        self.image_ready: str | None = "image not prepared yet"
        self.image_failed: str | None = None  # the import command exists and failed: a failure, not a gap

    def argv(self, *args: str) -> list[str]:
        return [*self.exe, "--root", str(self.root), *args]

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> cmd.Result:
        full = dict(self.env)
        if env:
            full.update(env)
        return cmd.run(self.argv(*args), env=full, timeout=timeout, cwd=str(REPO))

    def help_text(self, *words: str) -> str | None:
        """``pystack WORDS --help`` output; None when that command does not exist (yet). A command that
        exists but crashes gives its error text: the figure then runs it and records the failure."""
        if words not in self._help:
            res = cmd.run([*self.exe, *words, "--help"], timeout=60, env=self.env)
            text = res.out + res.err
            if "No such command" in text:
                self._help[words] = None
            else:
                self._help[words] = text if res.ok else ""
        return self._help[words]

    def missing(self, *words: str, flags: tuple[str, ...] = ()) -> str | None:
        """Why ``pystack WORDS`` cannot be measured yet, or None when it can (or is broken)."""
        text = self.help_text(*words)
        if text is None:
            return f"`pystack {' '.join(words)}` does not exist yet"
        if text == "":
            return None
        for flag in flags:
            if flag not in text:
                return f"`pystack {' '.join(words)}` has no {flag} option yet"
        return None

    def stack(self, stack_file: Path, project: str, *args: str, timeout: float = 300,
              env: dict[str, str] | None = None) -> cmd.Result:
        return self.run("-f", str(stack_file), "-p", project, *args, timeout=timeout, env=env)

    def prepare_image(self, image_tar: Path) -> None:
        """Imports the bench's busybox tar as ``busybox:latest``; remembers why not when it cannot."""
        if self.missing("image", "import") is None:
            res = self.run("image", "import", str(image_tar), self.image, timeout=300)
            self.image_ready = None if res.ok else f"image import failed: {res.why()}"
            self.image_failed = self.image_ready
            return
        module = REPO / "orchestrator" / "images" / "base_images.py"
        if module.exists():
            res = cmd.run([sys.executable, "-m", "orchestrator.images.base_images"], timeout=600,
                          env=self.env, cwd=str(REPO))
            self.image_ready = None if res.ok else f"base_images failed: {res.why()}"
            self.image_failed = self.image_ready
            return
        self.image_ready = "neither `pystack image import` nor orchestrator.images.base_images exists yet"

    def version(self) -> str:
        res = self.run("--version", timeout=60)
        return res.out.strip() or res.err.strip() or "unknown"


def is_pystack_process(root: Path, cmdline: str, pid: int) -> bool:
    """A process belongs to this bench's pystack when it names the root or carries it in its environment."""
    r = str(root)
    if r in cmdline:
        return True
    try:
        return f"PYSTACK_ROOT={r}".encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def env_with_image(image: str) -> dict[str, str]:
    env = dict(os.environ)
    env["BENCH_IMAGE"] = image
    return env
