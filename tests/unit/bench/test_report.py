"""results.json keeps the issue's schema, merged figures are normalized, the markdown shows every tool."""

from __future__ import annotations

import json
from pathlib import Path

from bench import extra, report
from bench.model import Figure, finish


def _results() -> dict[str, object]:
    fig = Figure("run /bin/true", "ms", "≤ crun's median", {"peer": "crun", "factor": 1.0}, "Runtime")
    fig.pystack.values += [5.0, 6.0, 7.0]
    fig.peer("crun").values += [6.0, 6.5, 7.0]
    fig.peer("runc").unavailable = "runc not found"
    merged = finish({"name": "load 1,000 services", "unit": "s",
                     "pystack": {"median": 0.5, "min": 0.4, "max": 0.6, "n": 5},
                     "peers": {"docker-compose": {"median": 2.0, "min": 1.9, "max": 2.1, "n": 5}}})
    return report.build({"cores": 2}, {"crun": "crun version 1.8.1"}, [fig.to_dict(), merged], {"mode": "quick"})


def test_results_follow_the_issue_schema(tmp_path: Path) -> None:
    results = _results()
    assert report.check_schema(results) == []
    path = tmp_path / "results.json"
    report.write_json(results, path)
    loaded = json.loads(path.read_text())
    fig, merged = loaded["figures"]
    assert set(report.SCHEMA_KEYS) <= set(fig)
    assert fig["pystack"]["median"] == 6.0
    assert fig["ratio"]["crun"] == 6.0 / 6.5
    assert fig["ratio"]["runc"] is None and fig["peers"]["runc"]["unavailable"] == "runc not found"
    assert fig["target_met"] is True
    assert merged["ratio"] == {"docker-compose": 0.25}


def test_schema_check_names_what_is_missing() -> None:
    problems = report.check_schema({"machine": {}, "figures": [{"name": "x", "pystack": {"median": 1}}]})
    assert "missing top-level key 'versions'" in problems
    assert any("missing 'unit'" in p for p in problems)
    assert any("pystack lacks 'n'" in p for p in problems)


def test_markdown_has_a_row_per_tool_and_the_reason_a_tool_is_missing() -> None:
    text = report.markdown(_results())
    assert "| run /bin/true (ms) | pystack | 6.00 | 5.00–7.00 | 3 |" in text
    assert "| crun | 6.50 |" in text
    assert "unavailable: runc not found" in text
    assert "**met**" in text


def test_a_script_that_prints_garbage_becomes_a_failed_figure() -> None:
    assert extra._parse("not json") is None
    assert extra._parse('progress...\n[{"name": "a", "unit": "s"}]') == [{"name": "a", "unit": "s"}]
    fig = finish(extra.failed_figure("images_bench.py", "exit 1: boom"))
    assert fig["pystack"]["failed"] == 1 and fig["pystack"]["n"] == 0


def test_scripts_may_print_json_lines_or_a_list_after_progress() -> None:
    lines = '{"name": "a", "unit": "ms"}\nnoise\n{"name": "b", "unit": "ms"}\n'
    assert [f["name"] for f in extra._parse(lines) or []] == ["a", "b"]
    spread = 'working...\n[\n  {"name": "c", "unit": "s"}\n]\n'
    assert [f["name"] for f in extra._parse(spread) or []] == ["c"]
    assert extra._parse('{"figures": [{"name": "d"}]}') == [{"name": "d"}]
