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


def read_image_file(image_dirs: list[str], path: str) -> Optional[bytes]:
    """`path` in the image whose docker-archive manifest is in `image_dirs[0]`; each layer file is read
    from the first of `image_dirs` that has it (a build's own layers, then its parent's)."""
    with open(os.path.join(image_dirs[0], "manifest.json")) as f:
        layers = json.load(f)[0]["Layers"]
    for layer in reversed(layers):
        found = [os.path.join(d, layer) for d in image_dirs if os.path.exists(os.path.join(d, layer))]
        if not found:
            raise FileNotFoundError(f"layer {layer} is in none of {', '.join(image_dirs)}")
        decided, content = read_from_layer(found[0], path)
        if decided:
            return content
    return None


def write_dpkg_status(image_dirs: list[str], dest: str) -> None:
    """The image's dpkg database (empty when the image has none)."""
    with open(dest, "wb") as f:
        f.write(read_image_file(image_dirs, DPKG_STATUS) or b"")
