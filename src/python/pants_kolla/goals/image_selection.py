"""Which images a goal's specs select: the `kolla_image` and `debian_rootfs` targets among them."""

from __future__ import annotations

from pants.engine.rules import Get
from pants.engine.target import Targets

from pants_kolla.core.graph_export import ImageRow, image_rows
from pants_kolla.core.image_tree import ImageGraph, ImageNode
from pants_kolla.core.naming import NamingScheme
from pants_kolla.target_types import KollaImageTarget
from pants_kolla.util_rules.image_tree_targets import ImageGraphRequest, image_node, is_image


def selected_kolla_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if isinstance(t, KollaImageTarget)]


def selected_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if is_image(t)]


async def selected_image_rows(targets: Targets, naming: NamingScheme) -> list[ImageRow]:
    """The rows `kolla-list` and `kolla-graph` print: the selected images and their ancestors, checked
    as one tree (`kolla-list ::` checks the whole repository's); a bad tree is a user error."""
    selected = selected_images(targets)
    graph = await Get(ImageGraph, ImageGraphRequest(tuple(n.address for n in selected)))
    return image_rows(graph, naming, selected)
