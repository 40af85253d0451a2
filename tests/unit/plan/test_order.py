"""The light start order agrees with the networkx graph's generations."""

from __future__ import annotations

from pathlib import Path

from orchestrator.plan.graph import start_generations
from orchestrator.plan.order import generations
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import load_stack

TEXT = """
services:
  db: {image: x}
  cache: {image: x}
  api: {image: x, depends_on: [db, cache]}
  worker: {image: x, links: [db]}
  web: {image: x, depends_on: {api: {condition: service_started}}}
  side: {image: x, network_mode: "service:web"}
  solo: {image: x}
"""


def test_same_generations_as_the_graph(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(TEXT)
    stack = load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], environ={}))
    assert generations(stack) == start_generations(stack)
    assert generations(stack, ["web"]) == start_generations(stack, ["web"])
    assert generations(stack) == [["cache", "db", "solo"], ["api", "worker"], ["web"], ["side"]]
