"""Which images a goal's specs select: the `kolla_image` and `debian_rootfs` targets among them."""

from __future__ import annotations

from pants.engine.target import Targets

from pants_kolla.image_graph import ImageNode
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget
from pants_kolla.util_rules.image_graph import image_node


def selected_kolla_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if isinstance(t, KollaImageTarget)]


def selected_images(targets: Targets) -> list[ImageNode]:
    return [image_node(t) for t in targets if isinstance(t, (KollaImageTarget, DebianRootfsTarget))]
