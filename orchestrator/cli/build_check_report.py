"""What ``build --check`` prints: BuildKit's layout of its check results, one block per finding."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.images.build.checks import Finding

RULER = "-" * 20


def summary(count: int) -> str:
    if count == 0:
        return "Check complete, no warnings found."
    return f"Check complete, {count} warning{' has' if count == 1 else 's have'} been found!"


def block(finding: Finding, where: str, lines: Sequence[str]) -> str:
    """One finding: the rule and its page, the message, the place, and the lines around it with
    the finding's line marked, as BuildKit shows them."""
    first, last = max(1, finding.line - 2), min(len(lines), finding.line + 2)
    shown = [f"{n:4d} | {'>>>' if n == finding.line else '   '} {lines[n - 1]}".rstrip()
             for n in range(first, last + 1)]
    return "\n".join([f"WARNING: {finding.rule} - {finding.url}", finding.message, f"{where}:{finding.line}", RULER,
                      *shown, RULER])
