"""The image tree as lines, JSON and Graphviz dot (Kolla's `--list-images`, `--list-dependencies` and
`--save-dependency`): pure functions of the graph and the naming scheme."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from pants_kolla.core.errors import display
from pants_kolla.core.image_tree import ImageGraph, ImageNode
from pants_kolla.core.naming import NamingScheme


@dataclass(frozen=True)
class ImageRow:
    address: str
    install_type: str
    ref: str
    parent_ref: str | None


def image_rows(graph: ImageGraph, naming: NamingScheme, selected: Iterable[ImageNode]) -> list[ImageRow]:
    """The selected images and all their ancestors (a graph without its roots would not say where
    images come from), sorted by name. Raises ImageGraphError on a broken tree."""
    naming.check_unique(graph.nodes.values())
    nodes = {n.address: n for s in selected for n in graph.ancestry(s.address)}
    rows = []
    for node in nodes.values():
        parent = graph.parent_of(node.address)
        rows.append(
            ImageRow(
                address=display(node.address),
                install_type=node.install_type,
                ref=naming.ref(node),
                parent_ref=naming.ref(parent) if parent else None,
            )
        )
    return sorted(rows, key=lambda r: r.ref)


def as_lines(rows: Iterable[ImageRow]) -> list[str]:
    return [f"{r.install_type}\t{r.ref}\t{r.parent_ref or '-'}" for r in rows]


def as_json(rows: Iterable[ImageRow]) -> str:
    images = [
        {"name": r.ref, "address": r.address, "install_type": r.install_type, "parent": r.parent_ref}
        for r in rows
    ]
    return json.dumps({"images": images}, indent=2, sort_keys=True) + "\n"


def as_dot(rows: Iterable[ImageRow]) -> str:
    """Edges point from parent to child, as in Kolla's saved dependency graph."""
    rows = list(rows)
    lines = ["digraph kolla {"]
    lines += [f"  {json.dumps(r.ref)} [install_type={json.dumps(r.install_type)}];" for r in rows]
    lines += [f"  {json.dumps(r.parent_ref)} -> {json.dumps(r.ref)};" for r in rows if r.parent_ref]
    lines.append("}")
    return "\n".join(lines) + "\n"
