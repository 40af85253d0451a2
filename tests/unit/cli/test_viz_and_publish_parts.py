"""``alpha viz``'s graph and ``publish``'s layers: pure, from stack files in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli.publish_cmd import _parts
from orchestrator.cli.viz_render import VizOptions, indentation, render_viz
from orchestrator.errors import PystackError
from orchestrator.images import stack_artifact as art
from orchestrator.spec.models import Stack
from orchestrator.spec.project import LoadOptions
from orchestrator.spec.stack import load_stack


def _stack(tmp_path: Path, text: str) -> Stack:
    (tmp_path / "compose.yaml").write_text(text)
    return load_stack(LoadOptions(files=[str(tmp_path / "compose.yaml")], project_name="vz", environ={}))


def test_viz_is_composes_graph_sorted(tmp_path: Path) -> None:
    stack = _stack(tmp_path, """
services:
  web:
    image: nginx:1
    depends_on: [db, cache]
    ports: ["127.0.0.1:8080:80", "9000:9000/udp"]
    networks: {front: {}, back: {priority: 5}}
  db: {image: "pg<16>"}
  cache: {build: .}
networks: {front: {}, back: {}}
""")
    out = render_viz(stack, VizOptions())
    assert out.splitlines() == [
        'digraph "vz" {',
        "\tlayout=dot;",
        '\t"cache" [style="filled" label=<<font point-size="15">cache</font>>];',
        '\t"db" [style="filled" label=<<font point-size="15">db</font>>];',
        '\t"web" [style="filled" label=<<font point-size="15">web</font>>];',
        "",
        '\t"web" -> "cache";',
        '\t"web" -> "db";',
        "}",
    ]
    full = render_viz(stack, VizOptions(networks=True, ports=True, image=True, indent=indentation(2, True)))
    web = next(line for line in full.splitlines() if line.startswith('  "web"'))
    assert "<b>Networks:</b><br/>back<br/>front</font>" in web  # priority first
    assert "<b>Ports:</b><br/>127.0.0.1:8080:80 (tcp, ingress)<br/>9000:9000 (udp, ingress)</font>" in web
    assert "<b>Image:</b><br/>nginx:1</font>" in web
    cache = next(line for line in full.splitlines() if line.startswith('  "cache"'))
    assert "<b>Image:</b><br/>vz-cache</font>" in cache  # the name a build gets
    db = next(line for line in full.splitlines() if line.startswith('  "db"'))
    assert "pg&lt;16&gt;" in db  # escaped inside the HTML label
    with pytest.raises(ValueError, match="invalid indentation size: -1"):
        indentation(-1, False)


def test_parts_rewrite_only_the_paths_and_keep_the_rest(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    main = tmp_path / "compose.yaml"
    main.write_text("""# top comment
services:
  a:
    image: x   # trailing comment
    env_file: [app.env, {path: "./more.env", required: false}]
    extends: {file: lib/base.yaml, service: base}
""")
    (tmp_path / "lib" / "base.yaml").write_text("services:\n  base:\n    extends:\n      file: ../root.yaml\n"
                                               "      service: r\n")
    (tmp_path / "root.yaml").write_text("services:\n  r: {image: y}\n")
    (tmp_path / "app.env").write_text("A=1\n")
    (tmp_path / "more.env").write_text("B=2\n")
    parts = _parts([main], tmp_path, with_env=True, version="t")
    kinds = [(p.media_type, p.annotations.get(art.EXTENDS_KEY)) for p in parts]
    assert kinds == [(art.FILE_MEDIA, None), (art.FILE_MEDIA, "true"), (art.FILE_MEDIA, "true"),
                     (art.ENVFILE_MEDIA, None), (art.ENVFILE_MEDIA, None)]
    text = parts[0].data.decode()
    assert text.startswith("# top comment\n") and "image: x   # trailing comment" in text
    base_name, root_name = parts[1].name, parts[2].name
    env_names = [parts[3].name, parts[4].name]
    assert f'file: "{base_name}"' in text
    assert f'env_file: ["{env_names[0]}", {{path: "{env_names[1]}", required: false}}]' in text
    assert f'file: "{root_name}"' in parts[1].data.decode()  # extends of an extended file, relative to it
    assert parts[2].data == (tmp_path / "root.yaml").read_bytes()  # nothing to rewrite: the bytes as they are
    assert [p.data for p in parts[3:]] == [b"A=1\n", b"B=2\n"]

    # without --with-env an env file is neither rewritten nor published
    plain = _parts([main], tmp_path, with_env=False, version="t")
    assert [p.media_type for p in plain].count(art.ENVFILE_MEDIA) == 0
    assert "env_file: [app.env," in plain[0].data.decode()


def test_parts_refuse_include_and_a_missing_extended_file(tmp_path: Path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text("include: [other.yaml]\nservices: {}\n")
    with pytest.raises(PystackError, match="include"):
        _parts([f], tmp_path, with_env=False, version="t")
    f.write_text("services:\n  a:\n    extends: {file: gone.yaml, service: b}\n")
    with pytest.raises(PystackError, match=r"gone\.yaml"):
        _parts([f], tmp_path, with_env=False, version="t")


def test_manifest_forms() -> None:
    parts = [art.stack_file("compose.yaml", b"services: {}\n", "t")]
    v11 = json.loads(art.manifest_for(parts, "1.1", created="2026-01-01T00:00:00Z"))
    assert v11["artifactType"] == art.PROJECT_ARTIFACT
    assert v11["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert v11["layers"][0]["annotations"] == {art.VERSION_KEY: "t", art.FILE_KEY: "compose.yaml"}
    v10 = json.loads(art.manifest_for(parts, "1.0", created="2026-01-01T00:00:00Z"))
    assert "artifactType" not in v10 and v10["config"]["mediaType"] == art.EMPTY_CONFIG_V10
