"""`pants package`: build (cached), then make sure the engine holds each image under its name.

The build is a cached process; loading and tagging is a cheap per-session step, so an engine whose
images were deleted is repaired by the next `package` without rebuilding (cf. Pants issue #13461).
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import AddPrefix, Digest, MergeDigests
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import DebianSuiteField, KollaParentField
from pants_kolla.util_rules.build import (
    FIXED_PATH,
    BuilderPex,
    BuildImageRequest,
    BuiltImage,
    KollaBuildError,
)
from pants_kolla.util_rules.engine import EngineEndpoint
from pants_kolla.util_rules.image_graph import KollaRepo


@dataclass(frozen=True)
class KollaImageFieldSet(PackageFieldSet):
    required_fields = (KollaParentField,)
    parent: KollaParentField


@dataclass(frozen=True)
class DebianRootfsFieldSet(PackageFieldSet):
    required_fields = (DebianSuiteField,)
    suite: DebianSuiteField


@dataclass(frozen=True)
class LoadedImage:
    ref: str
    image_id: str


async def _load_into_engine(built: BuiltImage, builder: BuilderPex) -> LoadedImage:
    engine = await Get(EngineEndpoint)
    process = await Get(
        Process,
        VenvPexProcess(
            builder.pex,
            argv=["load", "--image", "image", "--tag", built.ref, "--out", "loaded.json"],
            input_digest=await Get(Digest, AddPrefix(built.archive, "image")),
            extra_env={"PATH": FIXED_PATH, **engine.env},
            append_only_caches=engine.append_only_caches,
            output_files=("loaded.json",),
            cache_scope=ProcessCacheScope.PER_SESSION,
            description=f"Loading {built.ref} into the engine",
            level=LogLevel.DEBUG,
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        raise KollaBuildError(
            f"Loading {built.ref} into the engine at {engine.docker_host} failed:\n"
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return LoadedImage(built.ref, built.image_id)


async def _package(address, repo: KollaRepo, kolla: KollaSubsystem, builder: BuilderPex) -> BuiltPackage:
    built = await Get(BuiltImage, BuildImageRequest(address))
    loaded = await _load_into_engine(built, builder)
    dist_dir = kolla.naming().dist_dir(repo.graph.node(address))
    archive = await Get(Digest, AddPrefix(built.archive, "image"))
    merged = await Get(Digest, MergeDigests([archive, built.log, built.dockerfile]))
    digest = await Get(Digest, AddPrefix(merged, dist_dir))
    return BuiltPackage(
        digest,
        (BuiltPackageArtifact(dist_dir, extra_log_lines=(f"Image {loaded.ref} is {loaded.image_id}",)),),
    )


@rule(desc="Package a Kolla image", level=LogLevel.DEBUG)
async def package_kolla_image(
    field_set: KollaImageFieldSet, repo: KollaRepo, kolla: KollaSubsystem, builder: BuilderPex
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla, builder)


@rule(desc="Package a Debian rootfs image", level=LogLevel.DEBUG)
async def package_debian_rootfs(
    field_set: DebianRootfsFieldSet, repo: KollaRepo, kolla: KollaSubsystem, builder: BuilderPex
) -> BuiltPackage:
    return await _package(field_set.address, repo, kolla, builder)


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, KollaImageFieldSet),
        UnionRule(PackageFieldSet, DebianRootfsFieldSet),
    ]
