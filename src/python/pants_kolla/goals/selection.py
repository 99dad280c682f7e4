"""Which images a goal's specs select: the `kolla_image` and `debian_rootfs` targets among them."""

from __future__ import annotations

from pants.engine.target import Targets

from pants_kolla.graph_export import image_rows
from pants_kolla.image_graph import ImageGraphError, ImageNode
from pants_kolla.naming import NamingScheme
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget
from pants_kolla.util_rules.image_graph import KollaRepo, image_node
from pants_kolla.util_rules.render import KollaInputError


def selected_kolla_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if isinstance(t, KollaImageTarget)]


def selected_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if isinstance(t, (KollaImageTarget, DebianRootfsTarget))]


def selected_image_rows(targets: Targets, repo: KollaRepo, naming: NamingScheme):
    """The rows `kolla-list` and `kolla-graph` print; a bad tree is a user error, not a crash."""
    try:
        return image_rows(repo.graph, naming, selected_images(targets))
    except ImageGraphError as e:
        raise KollaInputError(str(e)) from None
