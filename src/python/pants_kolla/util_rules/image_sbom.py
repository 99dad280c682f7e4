"""Rule: a built image's SBOM (`sbom.cdx.json` in its dist/ folder) and the packages it lists.

The Debian packages come from the image's own dpkg database, which its build read from the layers it
wrote (builder/image_files.py): what the image holds, locked or not. A package lock of the image or of
an ancestor adds the .deb's sha256. Python distributions come from the PEX files the build contexts of
the image and its ancestors got (source images)."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestContents, FileContent
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import DependenciesRequest, Target, Targets, WrappedTarget, WrappedTargetRequest
from pants.util.logging import LogLevel

from pants_kolla.core.sbom import (
    InstalledDeb,
    PythonDist,
    cyclonedx_bom,
    dumps,
    installed_debs,
    pex_distributions,
)
from pants_kolla.target_types import KollaImageDependenciesField, KollaPackageLockField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.context_pexes import ContextPexes, ContextPexRequest
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest
from pants_kolla.util_rules.package_lock_files import read_package_lock

SBOM_FILE = "sbom.cdx.json"


@dataclass(frozen=True)
class ImageSbomRequest:
    address: Address


@dataclass(frozen=True)
class ImageSbom:
    address: Address
    ref: str
    debs: tuple[InstalledDeb, ...]
    python: tuple[PythonDist, ...]
    digest: Digest  # `sbom.cdx.json`; empty when the image was not built


async def _ancestry(address: Address) -> list[Target]:
    """The image's target, then its parent's, up to the root."""
    chain: list[Target] = []
    current: Address | None = address
    while current is not None:
        wrapped = await Get(WrappedTarget, WrappedTargetRequest(current, description_of_origin="pants-kolla"))
        chain.append(wrapped.target)
        link = await Get(ImageLink, ImageLinkRequest(current))
        current = link.parent.address if link.parent is not None else None
    return chain


async def _locked_sha256(target: Target) -> dict[tuple[str, str, str], str]:
    if not target.has_field(KollaPackageLockField):
        return {}
    lock = (await read_package_lock(target)).lock
    return {(d.name, d.version, d.arch): d.sha256 for d in lock.debs} if lock else {}


async def _python_dists(target: Target) -> tuple[PythonDist, ...]:
    if not target.has_field(KollaImageDependenciesField):
        return ()
    dependencies = await Get(Targets, DependenciesRequest(target[KollaImageDependenciesField]))
    pexes = await Get(ContextPexes, ContextPexRequest(target.address, dependencies))
    contents = await Get(DigestContents, Digest, pexes.digest)
    return tuple(d for f in contents if f.path.endswith(".pex") for d in pex_distributions(f.content))


@rule(desc="Write a Kolla image's SBOM", level=LogLevel.DEBUG)
async def image_sbom(request: ImageSbomRequest) -> ImageSbom:
    result = await Get(ImageBuildResult, BuildImageRequest(request.address))
    if result.image is None:
        return ImageSbom(request.address, result.ref, (), (), EMPTY_DIGEST)
    status = await Get(DigestContents, Digest, result.image.packages)
    debs = installed_debs(status[0].content.decode(errors="replace")) if status else ()
    sha256: dict[tuple[str, str, str], str] = {}
    python: set[PythonDist] = set()
    for target in await _ancestry(request.address):
        sha256.update(await _locked_sha256(target))
        python.update(await _python_dists(target))
    dists = tuple(sorted(python, key=lambda d: (d.name, d.version)))
    bom = cyclonedx_bom(result.ref, result.image.image_id, debs, sha256, dists)
    digest = await Get(Digest, CreateDigest([FileContent(SBOM_FILE, dumps(bom))]))
    return ImageSbom(request.address, result.ref, debs, dists, digest)


def rules():
    return collect_rules()
