"""Image naming options and service users, pure."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pants.engine.addresses import Address

from pants_kolla.core.image_tree import ROOTFS, ImageGraphError, ImageNode
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.template_context import template_context
from pants_kolla.core.users import DEFAULT_USERS, UsersOptionError, validated_users

CRON = ImageNode(
    address=Address("images/cron"), install_type="infra", parent_spec="images/base", image_name="cron"
)
KEYSTONE = ImageNode(
    address=Address("images/keystone", parameters={"install_type": "source"}),
    install_type="source",
    parent_spec="p",
    image_name="keystone",
)
ROOT = ImageNode(
    address=Address("images/rootfs"),
    install_type=ROOTFS,
    parent_spec=None,
    image_name="debian-bookworm-rootfs",
)


DEFAULT_NAMING = NamingScheme(namespace="kolla", tag="t", base_distro="debian", infra_image_prefix="")


def naming(**changes: Any) -> NamingScheme:
    """The default scheme with the given fields changed."""
    return dataclasses.replace(DEFAULT_NAMING, **changes)


def test_infra_images_are_renamed_by_default_with_infra_image_prefix() -> None:
    scheme = naming(infra_image_prefix="infra-")
    assert scheme.ref(CRON) == "kolla/infra-cron:t"
    assert scheme.ref(KEYSTONE) == "kolla/debian-source-keystone:t"


def test_without_renaming_infra_images_get_distro_infra_prefix_but_rootfs_does_not() -> None:
    scheme = naming(rename_infra_images=False, infra_image_prefix="ignored-")
    assert scheme.ref(CRON) == "kolla/debian-infra-cron:t"
    assert scheme.ref(ROOT) == "kolla/ignored-debian-bookworm-rootfs:t"
    assert scheme.dist_dir(CRON) == "images/debian-infra-cron"


def test_two_nodes_with_one_image_name_are_rejected() -> None:
    other = ImageNode(
        address=Address("images/cron2"), install_type="infra", parent_spec="images/base", image_name="cron"
    )
    with pytest.raises(ImageGraphError) as e:
        naming().check_unique([CRON, other, KEYSTONE])
    message = str(e.value)
    assert "images/cron2/BUILD: target `images/cron2`, field `image_name`" in message
    assert "`kolla/cron` is also produced by target `images/cron` (images/cron/BUILD)" in message


def test_variants_of_one_target_have_distinct_names() -> None:
    binary = ImageNode(
        address=Address("images/keystone", parameters={"install_type": "binary"}),
        install_type="binary",
        parent_spec="p",
        image_name="keystone",
    )
    naming().check_unique([KEYSTONE, binary, CRON])


def test_kolla_default_users() -> None:
    expected = {
        "keystone": 42425,
        "glance": 42415,
        "placement": 42482,
        "rabbitmq": 42439,
        "mysql": 42434,
        "memcached": 42457,
        "redis": 42460,
        "haproxy": 42454,
        "fluentd": 42474,
        "etcd": 42486,
        "kolla": 42400,
    }
    assert {name: ids["uid"] for name, ids in DEFAULT_USERS.items()} == expected
    assert all(ids["gid"] == ids["uid"] for ids in DEFAULT_USERS.values())


@pytest.mark.parametrize("bad", [{"uid": 1}, {"uid": "1", "gid": 1}, {"uid": 1, "gid": 1, "home": "/"}, 5])
def test_malformed_user_is_named(bad) -> None:
    with pytest.raises(UsersOptionError, match=r"`\[kolla\].users`: user `nova`"):
        validated_users({"nova": bad}, origin="`[kolla].users`")


def test_users_are_in_the_context_of_every_type_and_registry_is_not() -> None:
    users = {"keystone": {"uid": 1, "gid": 2}}
    for node in (CRON, KEYSTONE):
        ctx = template_context(
            node,
            "p",
            naming(),
            base_distro_tag="bookworm",
            maintainer="m",
            openstack_release="master",
            users=users,
        )
        assert ctx["users"] == users and "registry" not in ctx
