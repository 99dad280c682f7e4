"""Synthetic image trees of N tiny images (chains and fan-outs) for the scaling rows.

Pure shape functions (tested by the smoke test) and a writer that turns a shape into a pants-kolla
images/ tree rooted at the same debian_rootfs as the real tree, so the rootfs build is a cache hit.
"""

from __future__ import annotations

import uuid
from typing import Mapping

ROOT = "rootfs"
# Identical to images/rootfs/BUILD: same build inputs, hence one mmdebstrap run per tag for all trees.
ROOTFS_BUILD = (
    'debian_rootfs(name="rootfs", suite="bookworm", variant="minbase", image_name="debian-bookworm-rootfs")\n'
)


def image_name(i: int) -> str:
    return f"s{i:03d}"


def tree_shape(n: int) -> dict[str, str]:
    """image -> parent for n images: every fifth image hangs from the first (a fan-out that widens with
    n, like Kolla's base), the others extend a chain from their predecessor (chains of five levels).
    Parents always come first, and a smaller tree is a prefix of a larger one."""
    if n < 1:
        raise ValueError("a synthetic tree needs at least one image")
    shape = {image_name(0): ROOT}
    for i in range(1, n):
        shape[image_name(i)] = image_name(0 if i % 5 == 0 else i - 1)
    return shape


def leaves(shape: Mapping[str, str]) -> list[str]:
    parents = set(shape.values())
    return sorted(name for name in shape if name not in parents)


def depth(shape: Mapping[str, str], name: str) -> int:
    d = 0
    while name != ROOT:
        name, d = shape[name], d + 1
    return d


def template(i_or_name: str, nonce: str = "") -> str:
    """`RUN echo` makes a real (tiny) layer; the nonce makes a changed template unique to this run, so
    the change can never be a cache hit from an earlier benchmark."""
    return "FROM {{ parent_image }}\nRUN echo " + i_or_name + nonce + " > /n\n"


def plugin_files(shape: Mapping[str, str]) -> dict[str, str]:
    """The images/ tree (path -> content) of a pants-kolla repo for this shape."""
    files = {
        "images/BUILD": 'kolla_template_library(name="templates")\n',
        "images/macros.j2": "",
        "images/rootfs/BUILD": ROOTFS_BUILD,
    }
    for name, parent in shape.items():
        files[f"images/{name}/BUILD"] = f'kolla_image(install_type="infra", parent="images/{parent}")\n'
        files[f"images/{name}/Dockerfile.j2"] = template(name)
    return files


CHANGED_FILE = " > /changed\n"  # ends every change line
CHANGE = "RUN echo {nonce}" + CHANGED_FILE


def one_change(dockerfile: str) -> str:
    """`dockerfile` with exactly one change line, new each call: each call replaces the last change, so
    every sample builds the same steps. Appending a line per sample would make each build one RUN step
    longer than the last, and rows sampled later (the `--changed-since` ones) would time longer builds
    than the rows they are compared with."""
    kept = [line for line in dockerfile.splitlines(keepends=True) if not line.endswith(CHANGED_FILE)]
    return "".join(kept) + CHANGE.format(nonce=uuid.uuid4().hex[:8])
