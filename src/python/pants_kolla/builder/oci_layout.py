"""An image as an OCI image layout (`index.json`, `blobs/sha256/...`), the form `publish` pushes.

Each layer is gzip-compressed once, by the process that makes its image's layout: a child's layout takes
its parent's compressed layers as they are (by diff ID, from the parent's `layers.json`), so a layer
shared by 30 images has one compressed blob, with one digest, everywhere the layout is cached. The
compression is deterministic (no name, no mtime, a fixed level), and the config is the image's own config
file, byte for byte, so the pushed image has the ID that `package` built.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from typing import IO

from pants_kolla.builder import docker_archive

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYERS_FILE = "layers.json"  # diff ID -> the compressed layer's descriptor, for children's layouts
COMPRESS_LEVEL = 6


class _HashingWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def compress_layer(layer: str, blobs: str) -> dict:
    """Write the gzip of `layer` into `blobs` under its digest; return its descriptor."""
    partial = os.path.join(blobs, "partial")
    with open(layer, "rb") as src, open(partial, "wb") as raw:
        writer = _HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=writer, compresslevel=COMPRESS_LEVEL, mtime=0) as gz:  # type: ignore[arg-type]
            shutil.copyfileobj(src, gz, 1 << 20)
    digest = writer.sha.hexdigest()
    os.replace(partial, os.path.join(blobs, digest))
    return {"mediaType": LAYER_TYPE, "digest": f"sha256:{digest}", "size": writer.size}


def _write_blob(blobs: str, data: bytes, media_type: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def write_layout(image_dir: str, parent_layers: dict[str, dict], out_dir: str) -> dict:
    """The layout of the docker-archive in `image_dir`, with only the blobs the parent's layout lacks.
    Returns the manifest's descriptor."""
    blobs = os.path.join(out_dir, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    manifest = docker_archive.read_manifest(image_dir)
    with open(os.path.join(image_dir, manifest["Config"]), "rb") as f:
        config = f.read()
    diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    layers = {}
    for diff_id, path in zip(diff_ids, manifest["Layers"]):
        known = parent_layers.get(diff_id)
        layers[diff_id] = known or compress_layer(os.path.join(image_dir, path), blobs)
    oci_manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": _write_blob(blobs, config, CONFIG_TYPE),
        "layers": [layers[d] for d in diff_ids],
    }
    encoded = json.dumps(oci_manifest, sort_keys=True, separators=(",", ":")).encode()
    descriptor = _write_blob(blobs, encoded, MANIFEST_TYPE)
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [descriptor]}, f, sort_keys=True)
    with open(os.path.join(out_dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out_dir, LAYERS_FILE), "w") as f:
        json.dump(layers, f, sort_keys=True)
    return descriptor


def cmd_oci_layout(image: str, parent_layers_file: str, out_dir: str) -> int:
    parent_layers = {}
    if parent_layers_file:
        with open(parent_layers_file) as f:
            parent_layers = json.load(f)
    write_layout(image, parent_layers, out_dir)
    return 0
