"""Figures from the other parts' own benchmark scripts, merged into the one report.

Each script (``bench/spec_load.py``, ``runtime_bench.py``, ``images_bench.py``, ``storage_bench.py``,
``network_bench.py``) prints a JSON list of figures ``{name, unit, target?, pystack: {...}, peers: {...}}``.
A script that is not there yet is listed as such; one that fails or prints no valid JSON becomes a
figure with a failed pystack run, so that it cannot rot unnoticed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import cmd

SCRIPTS = ("spec_load.py", "runtime_bench.py", "images_bench.py", "storage_bench.py", "network_bench.py")
GROUP = "From the other parts' benchmarks"


def _figures_in(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("figures"), list):
        data = data["figures"]
    if isinstance(data, list) and data and all(isinstance(x, dict) and "name" in x for x in data):
        return data
    return None


def _parse(out: str) -> list[dict[str, Any]] | None:
    """Figures from a script's stdout: one JSON list (possibly after progress lines, possibly spread
    over many lines), a ``{"figures": [...]}`` object, or one JSON figure per line."""
    text = out.strip()
    lines = text.splitlines()
    candidates = [text]
    candidates += ["\n".join(lines[i:]) for i in range(len(lines) - 1, -1, -1) if lines[i].lstrip().startswith("[")]
    for cand in candidates:
        try:
            found = _figures_in(json.loads(cand))
        except ValueError:
            continue
        if found is not None:
            return found
    per_line = []
    for line in lines:
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and "name" in obj:
                per_line.append(obj)
    return per_line or None


def failed_figure(script: str, why: str) -> dict[str, Any]:
    return {"name": f"{script}", "unit": "", "target": None, "group": GROUP,
            "pystack": {"median": None, "min": None, "max": None, "n": 0, "failed": 1, "errors": [why]},
            "peers": {}}


def run_all(quick: bool, only: set[str] | None, timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
    """(figures, notes). Notes name the scripts that do not exist yet."""
    here = Path(__file__).resolve().parent
    figures: list[dict[str, Any]] = []
    absent = []
    took: list[str] = []
    for script in SCRIPTS:
        path = here / script
        if not path.exists():
            absent.append(script)
            continue
        helptext = cmd.run([sys.executable, str(path), "--help"], timeout=60, cwd=str(here.parent)).out
        argv = [sys.executable, str(path)]
        if quick and "--quick" in helptext:
            argv.append("--quick")
        elif quick and "--runs" in helptext:
            argv += ["--runs", "3"]
        if only is not None and "--only" in helptext:
            argv += ["--only", ",".join(sorted(only))]
        res = cmd.run(argv, timeout=timeout, cwd=str(here.parent))
        took.append(f"{script} {res.seconds:.0f} s")
        parsed = _parse(res.out) if res.ok else None
        if parsed is None:
            why = res.why() if not res.ok else "printed no JSON list of figures"
            figures.append(failed_figure(script, why))
            continue
        for fig in parsed:
            fig = dict(fig)
            fig.setdefault("group", GROUP)
            fig.setdefault("note", f"from bench/{script}")
            figures.append(fig)
    notes = [f"not there yet: {', '.join('bench/' + s for s in absent)}"] if absent else []
    if took:
        notes.append("other parts' scripts took: " + ", ".join(took))
    return figures, notes
