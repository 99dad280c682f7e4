"""What `pants tailor` guesses for a template (core/tailor_guess.py), pure: a parent resolves within the
image's own tree, the nearest folder of that name there."""

from __future__ import annotations

from pants_kolla.core.tailor_guess import PARENT_TODO, guessed_fields, image_folders

KOLLA_FROM = "FROM {{ namespace }}/{{ image_prefix }}openstack-base:{{ tag }}\n"
TREES = image_folders(
    [
        "images/openstack-base/Dockerfile.j2",
        "kolla/openstack-base/Dockerfile.j2",
        "kolla/aodh/aodh-base/Dockerfile.j2",
    ]
)


def test_the_parent_comes_from_the_images_own_tree_when_two_trees_hold_its_name() -> None:
    assert (
        guessed_fields("kolla/aodh/aodh-base/Dockerfile.j2", KOLLA_FROM, TREES)["parent"]
        == "kolla/openstack-base"
    )
    assert (
        guessed_fields("images/keystone/Dockerfile.j2", KOLLA_FROM, TREES)["parent"]
        == "images/openstack-base"
    )


def test_a_name_only_another_tree_holds_is_not_taken_from_it() -> None:
    folders = image_folders(["images/openstack-base/Dockerfile.j2"])
    # The sibling guess, which validation names if it does not exist, rather than a parent in images/.
    assert (
        guessed_fields("kolla/aodh/aodh-base/Dockerfile.j2", KOLLA_FROM, folders)["parent"]
        == "kolla/aodh/openstack-base"
    )


def test_the_nearest_folder_within_the_tree_wins() -> None:
    folders = image_folders(["kolla/openstack-base/Dockerfile.j2", "kolla/aodh/openstack-base/Dockerfile.j2"])
    assert (
        guessed_fields("kolla/aodh/aodh-api/Dockerfile.j2", KOLLA_FROM, folders)["parent"]
        == "kolla/aodh/openstack-base"
    )


def test_a_template_without_a_kolla_from_line_leaves_the_parent_to_the_user() -> None:
    assert (
        guessed_fields("kolla/x/Dockerfile.j2", "FROM {{ parent_image }}\n", TREES)["parent"] == PARENT_TODO
    )
