"""Rule: the files a built image's own layers leave (path, sha256, size), from a cached process per
image (builder/file_index.py) over the archive Pants holds: for `kolla-size --suggest-files`. Its key
holds the image's unnamed archive and how many of its layers are the parent's: no name or tag."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.process import ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.prerequisites import Builder

INDEX_FILE = "files.json"


@dataclass(frozen=True)
class ImageFileIndexRequest:
    address: Address
    inherited_layers: int


@dataclass(frozen=True)
class ImageFileIndex:
    files: FrozenDict[tuple[str, str], int]  # (path, sha256) -> bytes


@rule(desc="Index the files of a Kolla image's own layers", level=LogLevel.DEBUG)
async def image_file_index(request: ImageFileIndexRequest, builder: Builder) -> ImageFileIndex:
    result = await Get(ImageBuildResult, BuildImageRequest(request.address))
    if result.image is None:
        raise KollaError(f"{result.ref} was not built: no files to index")
    output = await Get(
        ProcessResult,
        BuilderProcess(
            builder=builder,
            argv=(
                "file-index",
                "--image",
                "image",
                "--inherited-layers",
                str(request.inherited_layers),
                "--out",
                INDEX_FILE,
            ),
            description=f"Indexing the files of {result.ref}'s own layers",
            immutable_inputs=FrozenDict({"image": result.image.build_input}),
            output_files=(INDEX_FILE,),
            level=LogLevel.DEBUG,
        ),
    )
    contents = await Get(DigestContents, Digest, output.output_digest)
    rows = json.loads(contents[0].content)
    return ImageFileIndex(FrozenDict({(path, digest): size for path, digest, size in rows}))


def rules():
    return collect_rules()
