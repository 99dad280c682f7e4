"""The template context of a plain image under images/, for tests of rendering without Pants."""

from __future__ import annotations

from pants.engine.addresses import Address

from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.template_context import template_context

NAMING = NamingScheme(namespace="kolla", tag="master", base_distro="debian", infra_image_prefix="")


def image_context(install_type: str, name: str) -> dict:
    """`images/<name>`, built FROM kolla/base:master with the default options."""
    node = ImageNode(
        address=Address(f"images/{name}"),
        install_type=install_type,
        parent_spec="images/base",
        image_name=name,
    )
    return template_context(
        node,
        "kolla/base:master",
        NAMING,
        base_distro_tag="bookworm",
        maintainer="m",
        openstack_release="master",
    )
