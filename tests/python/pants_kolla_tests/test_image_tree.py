from __future__ import annotations

import pytest
from pants.engine.addresses import Address

from pants_kolla.core.errors import display
from pants_kolla.core.image_tree import ROOTFS, ImageGraph, ImageGraphError, ImageNode


def node(path: str, install_type: str, parent: str | None, name: str | None = None) -> ImageNode:
    params = {"install_type": install_type} if "@" in path else {}
    spec_path = path.split("@")[0]
    return ImageNode(
        address=Address(spec_path, parameters=params),
        install_type=install_type,
        parent_spec=parent,
        image_name=name or spec_path.split("/")[-1],
    )


def tree(*extra: ImageNode) -> ImageGraph:
    return ImageGraph.from_nodes(
        [
            node("images/rootfs", ROOTFS, None),
            node("images/base", "infra", "images/rootfs"),
            node("images/cron", "infra", "images/base"),
            node("images/openstack-base@", "binary", "images/base"),
            node("images/openstack-base@", "source", "images/base"),
            node("images/keystone@", "binary", "images/openstack-base"),
            node("images/keystone@", "source", "images/openstack-base"),
            *extra,
        ]
    )


def test_per_type_image_gets_parent_variant_of_same_type() -> None:
    graph = tree()
    for install_type in ("binary", "source"):
        child = Address("images/keystone", parameters={"install_type": install_type})
        parent = graph.parent_of(child)
        assert parent is not None
        assert parent.address == Address("images/openstack-base", parameters={"install_type": install_type})


def test_ancestry_ends_at_rootfs() -> None:
    chain = tree().ancestry(Address("images/keystone", parameters={"install_type": "source"}))
    assert [display(n.address) for n in chain] == [
        "images/keystone@install_type=source",
        "images/openstack-base@install_type=source",
        "images/base",
        "images/rootfs",
    ]


def test_infra_image_under_per_type_parent_is_rejected() -> None:
    graph = tree(node("images/fluentd", "infra", "images/openstack-base"))
    with pytest.raises(
        ImageGraphError,
        match=r"images/fluentd/BUILD: target `images/fluentd`, field `parent`: an infra image cannot",
    ):
        graph.parent_of(Address("images/fluentd"))


def test_infra_image_under_single_type_parent_is_rejected() -> None:
    graph = tree(node("images/tool", "binary", "images/base"), node("images/mariadb", "infra", "images/tool"))
    with pytest.raises(
        ImageGraphError,
        match="infra image `images/mariadb` has parent `images/tool` whose install_type is `binary`",
    ):
        graph.parent_of(Address("images/mariadb"))


def test_missing_parent_names_file_target_and_field() -> None:
    graph = tree(node("images/redis", "infra", "images/nope"))
    with pytest.raises(
        ImageGraphError,
        match=r"images/redis/BUILD: target `images/redis`, field `parent`: no kolla_image or debian_rootfs target `images/nope`",
    ):
        graph.parent_of(Address("images/redis"))


def test_parent_without_variant_of_that_type() -> None:
    graph = ImageGraph.from_nodes(
        [
            node("images/rootfs", ROOTFS, None),
            node("images/ob@", "binary", "images/rootfs"),
            node("images/svc@", "source", "images/ob"),
        ]
    )
    with pytest.raises(
        ImageGraphError, match=r"parent `images/ob` has no `source` variant \(it has: binary\)"
    ):
        graph.parent_of(Address("images/svc", parameters={"install_type": "source"}))


def test_binary_image_with_source_parent_is_rejected() -> None:
    graph = tree(node("images/a", "source", "images/base"), node("images/b", "binary", "images/a"))
    with pytest.raises(ImageGraphError, match="`binary` image `images/b` has a `source` parent `images/a`"):
        graph.parent_of(Address("images/b"))


def test_parent_cycle_is_reported_with_its_path() -> None:
    graph = ImageGraph.from_nodes(
        [node("images/a", "infra", "images/b"), node("images/b", "infra", "images/a")]
    )
    with pytest.raises(ImageGraphError, match=r"parent cycle: images/a -> images/b -> images/a"):
        graph.ancestry(Address("images/a"))
