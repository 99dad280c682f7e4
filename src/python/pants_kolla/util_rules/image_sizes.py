"""Rule: a built image's layers with their sizes and the steps that made them, read from what Pants
holds (the docker-archive's manifest, config and layer file sizes; with `compressed`, the gzip blobs of
its OCI layout), and its installed Debian packages (its SBOM) for `kolla-size`'s suggestions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents, DigestEntries, DigestSubset, FileEntry, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.core.size_report import ImageSizes, Layer
from pants_kolla.core.size_suggestions import ImagePackages
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.image_sbom import ImageSbom, ImageSbomRequest
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest
from pants_kolla.util_rules.oci_layout import LAYERS_FILE, OciLayout, OciLayoutRequest


@dataclass(frozen=True)
class ImageSizesRequest:
    address: Address
    compressed: bool


@dataclass(frozen=True)
class MeasuredImage:
    sizes: Optional[ImageSizes]  # None: not built
    packages: Optional[ImagePackages]


def _name(ref: str) -> str:
    return ref.rpartition(":")[0]


def _step_line(created_by: str) -> str:
    """The Dockerfile line, as near as the history says it: `RUN ...`, or the instruction of a no-op."""
    if created_by.startswith("/bin/sh -c #(nop) "):
        return created_by[len("/bin/sh -c #(nop) ") :]
    if created_by.startswith("/bin/sh -c "):
        return "RUN " + created_by[len("/bin/sh -c ") :]
    return created_by


def _steps(config: dict, count: int) -> list[str]:
    steps = [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]
    steps = [" ".join(_step_line(s).split()) for s in steps]
    return steps if len(steps) == count else [""] * count


async def _compressed_sizes(address: Address) -> dict[str, int]:
    layout = await Get(OciLayout, OciLayoutRequest(address))
    contents = await Get(DigestContents, Digest, layout.layers)
    return {diff: d["size"] for diff, d in json.loads(contents[0].content).items()} if contents else {}


@rule(desc="Measure a Kolla image", level=LogLevel.DEBUG)
async def measured_image(request: ImageSizesRequest) -> MeasuredImage:
    result, link = await MultiGet(
        Get(ImageBuildResult, BuildImageRequest(request.address)),
        Get(ImageLink, ImageLinkRequest(request.address)),
    )
    if result.image is None:
        return MeasuredImage(None, None)
    archive = result.image.archive
    entries, jsons, sbom = await MultiGet(
        Get(DigestEntries, Digest, archive),
        Get(DigestContents, DigestSubset(archive, PathGlobs(["*.json"]))),
        Get(ImageSbom, ImageSbomRequest(request.address)),
    )
    files = {e.path: e.file_digest.serialized_bytes_length for e in entries if isinstance(e, FileEntry)}
    by_path = {f.path: json.loads(f.content) for f in jsons}
    manifest = by_path["manifest.json"][0]
    config = by_path[manifest["Config"]]
    compressed = await _compressed_sizes(request.address) if request.compressed else {}
    diff_ids = config["rootfs"]["diff_ids"]
    layers = tuple(
        Layer(diff, files[path], step, compressed.get(diff, 0))
        for diff, path, step in zip(diff_ids, manifest["Layers"], _steps(config, len(diff_ids)))
    )
    parent_name, inherited = "", 0
    if link.parent is not None:
        parent = await Get(MeasuredImage, ImageSizesRequest(link.parent.address, request.compressed))
        if parent.sizes is not None:
            parent_name, inherited = parent.sizes.name, len(parent.sizes.layers)
    name = _name(result.ref)
    sizes = ImageSizes(result.ref, name, link.node.install_type, parent_name, layers, inherited)
    packages = ImagePackages(name, parent_name, {d.name: d.installed_size for d in sbom.debs})
    return MeasuredImage(sizes, packages)


def rules():
    return collect_rules()
