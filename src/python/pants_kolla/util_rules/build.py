"""Rules: build one image (or rootfs) as a cacheable process whose output is a docker-archive directory.

Inputs of an image build are exactly: the rendered Dockerfile, the declared context files, the parent's
archive (by content digest), the builder script and its lockfile, and the declared build args. The engine
endpoint stays out of the cache key (util_rules/engine.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    EMPTY_DIGEST,
    Digest,
    DigestContents,
    DigestSubset,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import DependenciesRequest, Targets, WrappedTarget, WrappedTargetRequest
from pants.util.logging import LogLevel

from pants_kolla.subsystems.builder import KollaBuilder
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import (
    DebianPackagesField,
    DebianSuiteField,
    DebianVariantField,
    KollaBuildArgsField,
    KollaImageDependenciesField,
)
from pants_kolla.util_rules.context_pex import ContextPexes, ContextPexRequest
from pants_kolla.util_rules.engine import EngineEndpoint, how_to_start_engine
from pants_kolla.util_rules.image_graph import KollaRepo
from pants_kolla.util_rules.render import KollaInputError, RenderDockerfileRequest, RenderedDockerfile

EXIT_BUILD_FAILED = 3  # kolla_builder.py's codes
EXIT_ENGINE_UNREACHABLE = 4
# The builder runs as root-equivalent through the engine; give it a fixed PATH, never the user's.
FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class KollaBuildError(Exception):
    pass


@dataclass(frozen=True)
class BuildImageRequest:
    address: Address


@dataclass(frozen=True)
class ContextFilesRequest:
    address: Address


@dataclass(frozen=True)
class BuiltImage:
    address: Address
    ref: str
    image_id: str
    archive: Digest  # docker-archive files at the digest's root
    log: Digest  # `build.log`
    dockerfile: Digest  # `Dockerfile` (empty digest for a rootfs)


@dataclass(frozen=True)
class BuilderPex:
    pex: VenvPex


@rule(desc="Prepare the kolla image builder")
async def builder_pex(builder: KollaBuilder) -> BuilderPex:
    script = await Get(Digest, CreateDigest, builder.script_digest_request())
    pex = await Get(VenvPex, PexRequest, builder.to_pex_request(sources=script))
    return BuilderPex(pex)


async def _run_builder(
    builder: BuilderPex,
    engine: EngineEndpoint | None,
    argv: list[str],
    input_digest: Digest,
    ref: str,
    address: Address,
) -> BuiltImage:
    env = {"PATH": FIXED_PATH, **(engine.env if engine else {})}
    process = await Get(
        Process,
        VenvPexProcess(
            builder.pex,
            argv=[*argv, "--out", "image", "--log", "build.log"],
            input_digest=input_digest,
            extra_env=env,
            append_only_caches=engine.append_only_caches if engine else None,
            output_directories=("image",),
            output_files=("build.log",),
            description=f"Building {ref}",
            level=LogLevel.INFO,
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code == EXIT_ENGINE_UNREACHABLE:
        raise KollaBuildError(how_to_start_engine(engine.docker_host if engine else "?"))
    if result.exit_code != 0:
        raise KollaBuildError(
            f"Building {ref} ({address.spec}) failed with exit code {result.exit_code}.\n"
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    archive_dir = await Get(Digest, DigestSubset(result.output_digest, PathGlobs(["image/**"])))
    archive, log, manifest = await MultiGet(
        Get(Digest, RemovePrefix(archive_dir, "image")),
        Get(Digest, DigestSubset(result.output_digest, PathGlobs(["build.log"]))),
        Get(DigestContents, DigestSubset(result.output_digest, PathGlobs(["image/manifest.json"]))),
    )
    config = json.loads(manifest[0].content)[0]["Config"]
    image_id = "sha256:" + config.split("/")[-1].split(".")[0]
    return BuiltImage(address, ref, image_id, archive, log, EMPTY_DIGEST)


@rule(desc="Build a Kolla image")
async def build_image(
    request: BuildImageRequest,
    repo: KollaRepo,
    kolla: KollaSubsystem,
    builder: BuilderPex,
) -> BuiltImage:
    try:
        node = repo.graph.node(request.address)
        parent = repo.graph.parent_of(request.address)
    except Exception as e:
        raise KollaInputError(str(e)) from None
    naming = kolla.naming()
    ref = naming.ref(node)
    if parent is None:
        return await _build_rootfs(request.address, ref, kolla, builder)

    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")
    )
    target = wrapped.target
    parent_image, rendered, context, engine = await MultiGet(
        Get(BuiltImage, BuildImageRequest(parent.address)),
        Get(RenderedDockerfile, RenderDockerfileRequest(request.address)),
        Get(Digest, ContextFilesRequest(request.address)),
        Get(EngineEndpoint),
    )
    inputs = await MultiGet(
        Get(Digest, AddPrefix(rendered.digest, "context")),
        Get(Digest, AddPrefix(context, "context")),
        Get(Digest, AddPrefix(parent_image.archive, "parent")),
    )
    input_digest = await Get(Digest, MergeDigests(inputs))
    argv = ["build", "--context", "context", "--parent", "parent", "--parent-ref", parent_image.ref,
            "--tag", ref, "--retries", str(kolla.retries)]
    for build_arg in target[KollaBuildArgsField].value or ():
        argv += ["--build-arg", build_arg]
    built = await _run_builder(builder, engine, argv, input_digest, ref, request.address)
    return BuiltImage(built.address, ref, built.image_id, built.archive, built.log, rendered.digest)


async def _build_rootfs(address: Address, ref: str, kolla: KollaSubsystem, builder: BuilderPex) -> BuiltImage:
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-kolla"))
    target = wrapped.target
    argv = ["rootfs", "--suite", target[DebianSuiteField].value, "--variant",
            target[DebianVariantField].value, "--mirror", kolla.debian_mirror,
            "--epoch", str(kolla.source_date_epoch), "--tag", ref]
    for package in target[DebianPackagesField].value or ():
        argv += ["--include", package]
    return await _run_builder(builder, None, argv, EMPTY_DIGEST, ref, address)


@rule(desc="Collect a Kolla image's declared context files")
async def context_files(request: ContextFilesRequest) -> Digest:
    """Declared files only. Those in the image's folder go to the context root (Kolla's context is the
    folder); others keep their repo path."""
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")
    )
    dependencies = await Get(Targets, DependenciesRequest(wrapped.target[KollaImageDependenciesField]))
    sources = await Get(
        SourceFiles,
        SourceFilesRequest(
            [t[FileSourceField] if t.has_field(FileSourceField) else t[ResourceSourceField]
             for t in dependencies if t.has_field(FileSourceField) or t.has_field(ResourceSourceField)],
            for_sources_types=(FileSourceField, ResourceSourceField),
        ),
    )
    # pex_binary dependencies of source images, built on the host (util_rules/context_pex.py).
    pexes = await Get(ContextPexes, ContextPexRequest(request.address, dependencies))
    folder = request.address.spec_path
    if not folder:
        return await Get(Digest, MergeDigests([sources.snapshot.digest, pexes.digest]))
    inside, outside = await MultiGet(
        Get(Digest, DigestSubset(sources.snapshot.digest, PathGlobs([f"{folder}/**"]))),
        Get(Digest, DigestSubset(sources.snapshot.digest, PathGlobs(["**", f"!{folder}/**"]))),
    )
    inside = await Get(Digest, RemovePrefix(inside, folder))
    return await Get(Digest, MergeDigests([inside, outside, pexes.digest]))


def rules():
    return collect_rules()
