"""A small image tree for scratch repos (rootfs -> base -> cron, plus an optional binary/source image):
the real templates of those images, so the tests build what the repo builds, in a few minutes."""

from __future__ import annotations

import shutil

from pants_kolla_tests.repo_fixture import SANDBOX, ScratchRepo

REAL_FILES = ("BUILD", "macros.j2")
REAL_IMAGES = ("rootfs", "base", "cron")  # whole folders: whatever their BUILD files declare

# Tiny per-type image: both variants share every parent layer, which is what blob reuse is about.
HELLO_BUILD = 'kolla_image(install_type=parametrize("binary", "source"), parent="images/base")\n'
HELLO_TEMPLATE = "FROM {{ parent_image }}\nRUN echo {{ install_type }} > /install_type\n"


def add_small_tree(repo: ScratchRepo, per_type: bool = False) -> None:
    for rel in REAL_FILES:
        dest = repo.root / "images" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SANDBOX / "images" / rel, dest)
    for image in REAL_IMAGES:
        shutil.copytree(SANDBOX / "images" / image, repo.root / "images" / image)
    if per_type:
        repo.write("images/hello/BUILD", HELLO_BUILD)
        repo.write("images/hello/Dockerfile.j2", HELLO_TEMPLATE)
