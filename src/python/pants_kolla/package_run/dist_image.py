"""Rule: the files `package` writes for one built image, dist/images/<name>/ (pure: digests only).

Artifacts name no path, so Pants does not delete an image's folder before writing it (that races with a
concurrent run); the run summary removes what an earlier run left instead (package_run/dist_folder.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.fs import AddPrefix, Digest, DigestSubset, MergeDigests, PathGlobs, Snapshot
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.core.run_summary import ImageStatus
from pants_kolla.util_rules.build_image import ImageBuildResult
from pants_kolla.util_rules.engine_load import LoadedImage
from pants_kolla.util_rules.image_sbom import ImageSbom, ImageSbomRequest


@dataclass(frozen=True)
class DistImageRequest:
    result: ImageBuildResult
    status: ImageStatus  # the run's status of the image
    loaded: LoadedImage | None  # None: no engine holds it (buildah), or it failed
    export_archives: bool


@dataclass(frozen=True)
class DistImage:
    files: Digest  # relative to the image's folder
    paths: tuple[str, ...]
    status_line: str


@rule(desc="Prepare a Kolla image's dist/ files", level=LogLevel.DEBUG)
async def dist_image(request: DistImageRequest) -> DistImage:
    result, loaded = request.result, request.loaded
    if result.image is None:  # failed, and allowed to: its log and Dockerfile say why
        files = await Get(Digest, MergeDigests([result.log, result.dockerfile]))
        status = f"FAILED (allowed to fail): {result.ref}"
    else:
        archive = result.image.archive
        if loaded is not None and not request.export_archives:
            # The engine holds the image: write its manifest and config, not gigabytes of layers per run.
            archive = await Get(Digest, DigestSubset(archive, PathGlobs(["*.json"])))
        archive, sbom = await MultiGet(
            Get(Digest, AddPrefix(archive, "image")), Get(ImageSbom, ImageSbomRequest(result.address))
        )
        files = await Get(Digest, MergeDigests([archive, result.log, result.dockerfile, sbom.digest]))
        where = "in the engine" if loaded is not None else "not loaded: no engine (docker load from dist/)"
        status = f"{request.status.value}: {result.ref} {result.image.image_id} ({where})"
    snapshot = await Get(Snapshot, Digest, files)
    return DistImage(files, snapshot.files, status)


def rules():
    return collect_rules()
