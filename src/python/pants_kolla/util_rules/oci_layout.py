"""Rule: a built image as an OCI image layout, what `publish` pushes (builder/oci_layout.py).

A cached process per image compresses only the layers its parent's layout lacks, so every layer is
compressed once, and its blob (bytes and digest) is the same on every machine that shares the cache; the
full layout is that output plus the parent's blobs, by digest. Its key holds the image's unnamed archive
and the parent's layer map: no name, tag or registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from pants.engine.addresses import Address
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    Digest,
    DigestContents,
    DigestSubset,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.process import ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict

from pants_kolla.core.errors import KollaError
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest
from pants_kolla.util_rules.prerequisites import Builder

LAYERS_FILE = "layers.json"


@dataclass(frozen=True)
class OciLayoutRequest:
    address: Address


@dataclass(frozen=True)
class OciLayout:
    layout: Digest  # index.json, oci-layout and blobs/sha256/: every blob of the image
    layers: Digest  # layers.json: diff ID -> compressed layer descriptor, for children
    manifest_digest: str
    manifest_size: int


async def _parent_layout(address: Address) -> Optional[OciLayout]:
    link = await Get(ImageLink, ImageLinkRequest(address))
    return await Get(OciLayout, OciLayoutRequest(link.parent.address)) if link.parent else None


@rule(desc="Compress a Kolla image's layers for publishing")
async def oci_layout(request: OciLayoutRequest, builder: Builder) -> OciLayout:
    result = await Get(ImageBuildResult, BuildImageRequest(request.address))
    parent = await _parent_layout(request.address)
    if result.image is None:
        raise KollaError(f"{result.ref} was not built: nothing to publish")
    parent_layers = await Get(Digest, AddPrefix(parent.layers, "parent")) if parent else EMPTY_DIGEST
    output = await Get(
        ProcessResult,
        BuilderProcess(
            builder=builder,
            argv=(
                "oci-layout",
                "--image",
                "image",
                *(("--parent-layers", f"parent/{LAYERS_FILE}") if parent else ()),
                "--out",
                "layout",
            ),
            description=f"Compressing the new layers of {result.ref}",
            input_digest=parent_layers,
            immutable_inputs=FrozenDict({"image": result.image.build_input}),
            output_directories=("layout",),
        ),
    )
    own = await Get(Digest, RemovePrefix(output.output_digest, "layout"))
    own_layout, layers, index = await MultiGet(
        Get(Digest, DigestSubset(own, PathGlobs(["**", f"!{LAYERS_FILE}"]))),
        Get(Digest, DigestSubset(own, PathGlobs([LAYERS_FILE]))),
        Get(DigestContents, DigestSubset(own, PathGlobs(["index.json"]))),
    )
    inherited = [await Get(Digest, DigestSubset(parent.layout, PathGlobs(["blobs/**"])))] if parent else []
    layout = await Get(Digest, MergeDigests([own_layout, *inherited]))
    manifest = json.loads(index[0].content)["manifests"][0]
    return OciLayout(layout, layers, manifest["digest"], manifest["size"])


def rules():
    return collect_rules()
