"""Reading one file of a built image from its layer tars, as the image's filesystem holds it: the newest
layer that has the file, or that deletes it (an overlay whiteout), decides. `package` gets the image's
dpkg database this way for its SBOM, without a container or the engine."""

from __future__ import annotations

import json
import os
import tarfile
from typing import Optional

DPKG_STATUS = "var/lib/dpkg/status"


def member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _hiding_entries(path: str) -> set[str]:
    """The whiteout entries that delete `path`: a whiteout of it or of a folder above it."""
    parts = path.split("/")
    return {"/".join([*parts[:i], ".wh." + parts[i]]) for i in range(len(parts))}


def _opaque_folders(path: str) -> set[str]:
    parts = path.split("/")
    return {"/".join([*parts[:i], ".wh..wh..opq"]) for i in range(1, len(parts))}


def read_from_layer(layer: str, path: str) -> tuple[bool, Optional[bytes]]:
    """(decided, content): content when the layer has the file, decided without content when the layer
    deletes it (or hides its folder), not decided when the layer does not touch it."""
    hiding, opaque = _hiding_entries(path), _opaque_folders(path)
    hidden = False
    with tarfile.open(layer) as tar:
        for member in tar:
            name = member_name(member.name)
            if name == path and member.isfile():
                extracted = tar.extractfile(member)
                return True, extracted.read() if extracted else b""
            hidden = hidden or name in hiding or name in opaque
    return hidden, None


def read_image_file(image_dir: str, path: str) -> tuple[bool, Optional[bytes]]:
    """`path` in the layers of the docker-archive folder `image_dir` that it holds (a build's own), newest
    first: (decided, content) as `read_from_layer` says it for the newest layer touching `path`."""
    with open(os.path.join(image_dir, "manifest.json")) as f:
        layers = json.load(f)[0]["Layers"]
    for layer in reversed(layers):
        if not os.path.exists(os.path.join(image_dir, layer)):
            break  # the parent's layers: the rest of the image is the parent's
        decided, content = read_from_layer(os.path.join(image_dir, layer), path)
        if decided:
            return True, content
    return False, None


def write_dpkg_status(image_dir: str, inherited: str, dest: str) -> None:
    """The image's dpkg database (empty when the image has none): from its own layers, else the file
    `inherited` (the parent's database; none for a root image)."""
    decided, content = read_image_file(image_dir, DPKG_STATUS)
    if not decided and inherited:
        with open(inherited, "rb") as f:
            content = f.read()
    with open(dest, "wb") as f:
        f.write(content or b"")
