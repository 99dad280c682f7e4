"""The Jinja context of one image (Kolla's model). Only binary/source images see an install type, so an
infra image renders the same bytes whichever install types a run builds."""

from __future__ import annotations

from typing import Any, Mapping

from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.install_types import InstallType
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.users import DEFAULT_USERS


def template_context(
    node: ImageNode,
    parent_ref: str,
    naming: NamingScheme,
    *,
    base_distro_tag: str,
    maintainer: str,
    openstack_release: str,
    users: Mapping[str, Mapping[str, int]] = DEFAULT_USERS,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "base_distro": naming.base_distro,
        "base_distro_tag": base_distro_tag,
        "namespace": naming.namespace,
        "tag": naming.tag,
        "image_name": node.image_name,
        "image_prefix": naming.prefix(node),
        "infra_image_prefix": naming.infra_image_prefix,
        "maintainer": maintainer,
        "openstack_release": openstack_release,
        "parent_image": parent_ref,
        "users": {name: dict(ids) for name, ids in users.items()},
    }
    if node.is_per_type:
        context["install_type"] = node.install_type
        context["install_metatype"] = InstallType(node.install_type).metatype
    return context
