"""Compose's ``alpha viz`` graph: Graphviz dot with one HTML-labelled node per service.

Kept apart from ``graph``'s renderers because its shape is Compose's, not ours: a reader who pipes
``docker compose alpha viz`` into ``dot`` gets the same picture from pystack. Unlike Compose's, the
nodes and edges come out sorted, so that the output is stable from run to run. Pure.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from orchestrator.reconcile.translate import image_ref_of
from orchestrator.spec.models.service import Service
from orchestrator.spec.models.stack import Stack


@dataclass(frozen=True)
class VizOptions:
    """What ``alpha viz`` draws beside the services."""
    networks: bool = False
    ports: bool = False
    image: bool = False
    indent: str = "\t"


def indentation(size: int, spaces: bool) -> str:
    """What Compose's ``--indentation-size`` and ``--spaces`` make of one level."""
    if size < 0:
        raise ValueError(f"invalid indentation size: {size}")
    return (" " if spaces else "\t") * size


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _networks(svc: Service) -> list[str]:
    """Highest priority first, then by name: the order Compose attaches them in."""
    return sorted(svc.networks, key=lambda n: (-svc.networks[n].priority, n))


def _label(stack: Stack, name: str, svc: Service, opts: VizOptions) -> str:
    parts = [f'<font point-size="15">{html.escape(name)}</font>']
    if opts.networks and svc.networks:
        rows = "".join(f"<br/>{html.escape(n)}" for n in _networks(svc))
        parts.append(f'<font point-size="10"><br/><br/><b>Networks:</b>{rows}</font>')
    if opts.ports and svc.ports:
        rows = "".join(
            "<br/>" + html.escape(f"{p.host_ip + ':' if p.host_ip else ''}{p.published or ''}:{p.target}"
                                  f" ({p.protocol}, {p.mode})")
            for p in svc.ports)
        parts.append(f'<font point-size="10"><br/><br/><b>Ports:</b>{rows}</font>')
    if opts.image:
        image = html.escape(image_ref_of(stack.name, name, svc.image))
        parts.append(f'<font point-size="10"><br/><br/><b>Image:</b><br/>{image}</font>')
    return "".join(parts)


def render_viz(stack: Stack, opts: VizOptions) -> str:
    """The whole ``digraph``: a node per service, an edge from each service to what it depends on."""
    ind = opts.indent
    out = [f"digraph {_quoted(stack.name)} {{\n", f"{ind}layout=dot;\n"]
    for name in sorted(stack.services):
        svc = stack.services[name]
        out.append(f'{ind}{_quoted(name)} [style="filled" label=<{_label(stack, name, svc, opts)}>];\n')
    out.append("\n")
    for name in sorted(stack.services):
        for dep in sorted(stack.services[name].depends_on):
            out.append(f"{ind}{_quoted(name)} -> {_quoted(dep)};\n")
    out.append("}\n")
    return "".join(out)
