"""Rules: build one image (or rootfs) as a cacheable process whose output is a docker-archive directory.

Inputs of an image build are exactly: the rendered Dockerfile, the declared context files, the parent's
archive (by content digest), the builder's code, kind and version, and the declared build args. The
engine endpoint stays out of the cache key (util_rules/engine.py).

A failed build is a result, not an exception: independent branches go on building, descendants are
reported as PARENT_FAILED (Kolla's PARENT_ERROR), and the run summary decides the exit code.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.engine.addresses import Address
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.process import FallibleProcessResult, Process, ProcessResultMetadata
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla import builder_exit_codes as exit_codes
from pants_kolla import run_summary as Status
from pants_kolla.image_graph import display, where
from pants_kolla.input_error import KollaInputError
from pants_kolla.parent_pin import NoParentFrom, pin_parent
from pants_kolla.registry_base import RegistryImageField, is_plain_http, parse_pinned
from pants_kolla.subsystems.builder import KollaBuilder
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import (
    DebianPackagesField,
    DebianSuiteField,
    DebianVariantField,
    KollaBuildArgsField,
)
from pants_kolla.util_rules.apt_auth import SANDBOX_FILE as APT_AUTH_FILE
from pants_kolla.util_rules.apt_auth import RootfsMirror
from pants_kolla.util_rules.context import ContextFilesRequest
from pants_kolla.util_rules.engine import (
    BuilderBackend,
    EngineUnreachable,
    RemoteExecution,
    how_to_start_engine,
)
from pants_kolla.util_rules.image_graph import ImageLink, ImageLinkRequest, checked_ancestry
from pants_kolla.util_rules.prerequisites import BuildPrerequisites
from pants_kolla.util_rules.render import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla.util_rules.source_date_epoch import SourceDateEpochCheck

# The builder drives root-equivalent tools; give it a fixed PATH, never the user's.
FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# With remote cache reads, Pants starts each action while it looks the action cache up and cancels it on a
# hit; a remote worker has by then begun the build (Bazel's runs it to the end). Under remote execution
# builds wait this long for the lookup first (not in the cache key): a lookup takes milliseconds with
# `--cache-content-behavior=validate`; `fetch` (the default) waits for the outputs (seconds for a rootfs).
REMOTE_LOOKUP_HEAD_START_MS = 1000


@dataclass(frozen=True)
class BuildImageRequest:
    address: Address


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    image_id: str
    archive: Digest  # docker-archive files at the digest's root, the manifest naming the image `ref`
    # The same archive as builds produce it, unnamed: what children's builds get, so that no name enters
    # their cache keys.
    build_input: Digest
    # The parent's image ID: where the engine holds it, loading this image sends only its own layers.
    parent_id: str = ""


@dataclass(frozen=True)
class ImageBuildResult:
    address: Address
    ref: str
    status: str  # BUILT or FAILED as the process reported; CACHED is decided per run by the summary
    image: BuiltImage | None
    log: Digest  # `build.log`, also for failures
    dockerfile: Digest  # `Dockerfile` (empty for a rootfs)
    error: str = ""
    metadata: ProcessResultMetadata | None = dataclasses.field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.image is not None


@dataclass(frozen=True)
class BuilderPex:
    pex: VenvPex


@dataclass(frozen=True)
class UncheckedBuilderPex:
    """The builder before the prerequisites check: for the remote worker's probe, which that check
    waits for (util_rules/worker.py). Everything else takes `BuilderPex`."""

    pex: VenvPex


def with_immutable_inputs(process: Process, **digests: Digest) -> Process:
    """Hand big inputs (image archives) as immutable inputs: Pants materializes each digest once and
    links it into every sandbox, instead of copying gigabytes per process. They stay in the cache key."""
    return dataclasses.replace(
        process, immutable_input_digests=FrozenDict({**process.immutable_input_digests, **digests})
    )


async def _layers_of(archive: Digest) -> Digest:
    return await Get(Digest, DigestSubset(archive, PathGlobs(["*/layer.tar"])))


@rule(desc="Prepare the kolla image builder")
async def unchecked_builder_pex(builder: KollaBuilder) -> UncheckedBuilderPex:
    # Under remote execution: the executor answers (one clear error, not Pants' ~50 s of retries).
    (await Get(RemoteExecution)).raise_failure()
    script = await Get(Digest, CreateDigest, builder.script_digest_request())
    pex = await Get(VenvPex, PexRequest, builder.to_pex_request(sources=script))
    return UncheckedBuilderPex(pex)


@rule
async def builder_pex(prerequisites: BuildPrerequisites, epoch: SourceDateEpochCheck) -> BuilderPex:
    prerequisites.checked()
    # Both checks first: on a fresh machine without the tools, fail in seconds, not after the PEX
    # (under remote execution they are the worker's, probed with the unchecked PEX). Every build needs
    # this PEX, so no build runs with a future `[kolla].source_date_epoch`.
    epoch.raise_failure()
    return BuilderPex((await Get(UncheckedBuilderPex)).pex)


def _attempt(process: Process, attempt: int) -> Process:
    """The same build again, after a transient failure. Pants memoizes an equal Process for the session,
    so the retry must differ; it differs only in fields outside the cache key (the description and the
    remote-cache speculation delay, which no local run reads), so a retry that succeeds is cached under
    the very key a later run's first attempt looks up, and `[kolla].retries` is in no key."""
    delay = process.remote_cache_speculation_delay_millis + attempt  # on top of a remote head start
    return dataclasses.replace(process, description=f"{process.description} (retry {attempt})",
                               remote_cache_speculation_delay_millis=delay)


def _named(manifest: bytes, ref: str) -> CreateDigest:
    """The archive's manifest naming the image: builds never see the name (it is in no cache key)."""
    entries = [{**entry, "RepoTags": [ref]} for entry in json.loads(manifest)]
    return CreateDigest([FileContent("manifest.json", json.dumps(entries, sort_keys=True).encode())])


async def _run_builder(
    builder: BuilderPex,
    backend: BuilderBackend | None,
    argv: list[str],
    input_digest: Digest,
    ref: str,
    address: Address,
    dockerfile: Digest,
    retries: int,
    parent: BuiltImage | None = None,
    append_only_caches: FrozenDict[str, str] = FrozenDict(),
) -> ImageBuildResult:
    engine = backend.engine if backend else None
    process = await Get(
        Process,
        VenvPexProcess(
            builder.pex,
            argv=[*argv, "--out", "image", "--log", "build.log"],
            input_digest=input_digest,
            extra_env={"PATH": FIXED_PATH, **(engine.env if engine else {})},
            append_only_caches={**(engine.append_only_caches if engine else {}), **append_only_caches},
            output_directories=("image",),
            output_files=("build.log",),
            description=f"Building {ref}",
            level=LogLevel.INFO,
        ),
    )
    if parent is not None:
        process = with_immutable_inputs(process, parent=parent.build_input)
    if (await Get(RemoteExecution)).remote:
        process = dataclasses.replace(process,
                                      remote_cache_speculation_delay_millis=REMOTE_LOOKUP_HEAD_START_MS)
    result = await Get(FallibleProcessResult, Process, process)
    for attempt in range(1, retries + 1):
        if result.exit_code != exit_codes.TRANSIENT:
            break
        result = await Get(FallibleProcessResult, Process, _attempt(process, attempt))
    if result.exit_code == exit_codes.ENGINE_UNREACHABLE:
        raise EngineUnreachable(f"{result.stderr.decode(errors='replace').strip()}\n"
                                + how_to_start_engine(engine.docker_host if engine else "?"))
    log = await Get(Digest, DigestSubset(result.output_digest, PathGlobs(["build.log"])))
    if result.exit_code != 0:
        error = (f"Building {ref} ({display(address)}) failed with exit code {result.exit_code}.\n"
                 f"{result.stderr.decode(errors='replace').strip()}")
        return ImageBuildResult(address, ref, Status.FAILED, None, log, dockerfile, error, result.metadata)
    archive_dir = await Get(Digest, DigestSubset(result.output_digest, PathGlobs(["image/**"])))
    own_files, manifest = await MultiGet(
        Get(Digest, RemovePrefix(archive_dir, "image")),
        Get(DigestContents, DigestSubset(result.output_digest, PathGlobs(["image/manifest.json"]))),
    )
    unnamed_files, named_manifest = await MultiGet(
        Get(Digest, DigestSubset(own_files, PathGlobs(["**", "!manifest.json"]))),
        Get(Digest, CreateDigest, _named(manifest[0].content, ref)),
    )
    # The builder writes only the layers its parent lacks (small cache entries, no re-hashing of the
    # parent's gigabytes); the full archive is those plus the parent's layers, by digest.
    parent_layers = [await _layers_of(parent.build_input)] if parent is not None else []
    archive, build_input = await MultiGet(
        Get(Digest, MergeDigests([unnamed_files, named_manifest, *parent_layers])),
        Get(Digest, MergeDigests([own_files, *parent_layers])),
    )
    config = json.loads(manifest[0].content)[0]["Config"]
    image_id = "sha256:" + config.split("/")[-1].split(".")[0]
    image = BuiltImage(ref, image_id, archive, build_input, parent.image_id if parent else "")
    return ImageBuildResult(address, ref, Status.BUILT, image, log, dockerfile, "", result.metadata)


@rule(desc="Build a Kolla image")
async def build_image(request: BuildImageRequest, kolla: KollaSubsystem, builder: BuilderPex) -> ImageBuildResult:
    await checked_ancestry(request.address)  # a parent cycle is an input error, before any build
    link, wrapped = await MultiGet(
        Get(ImageLink, ImageLinkRequest(request.address)),
        Get(WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")),
    )
    node, parent = link.node, link.parent
    ref = kolla.naming().ref(node)
    target = wrapped.target
    pinned = parse_pinned(target.get(RegistryImageField).value or "")
    if parent is None and pinned:
        argv = ["pull", "--image", pinned.by_digest]
        if is_plain_http(pinned.name, tuple(kolla.insecure_registries)):
            argv.append("--plain-http")
        return await _run_builder(builder, None, argv, EMPTY_DIGEST, ref, request.address, EMPTY_DIGEST,
                                  kolla.retries)
    if parent is None:
        mirror = await Get(RootfsMirror)
        argv = ["rootfs", "--suite", target[DebianSuiteField].value, "--variant",
                target[DebianVariantField].value, "--mirror", mirror.url, "--apt-auth", APT_AUTH_FILE,
                "--epoch", str(kolla.source_date_epoch)]
        for package in target[DebianPackagesField].value or ():
            argv += ["--include", package]
        return await _run_builder(builder, None, argv, EMPTY_DIGEST, ref, request.address, EMPTY_DIGEST,
                                  kolla.retries, append_only_caches=mirror.append_only_caches)

    parent_result, rendered, context = await MultiGet(
        Get(ImageBuildResult, BuildImageRequest(parent.address)),
        Get(RenderedDockerfile, RenderDockerfileRequest(request.address)),
        Get(Digest, ContextFilesRequest(request.address)),
    )
    if parent_result.image is None:
        # Carry the root cause down, so a selected descendant explains an unselected ancestor's failure.
        error = (f"{ref} not built: its parent {parent_result.ref} ({display(parent.address)}) was not "
                 f"built.\n{parent_result.error}")
        return ImageBuildResult(request.address, ref, Status.PARENT_FAILED, None, EMPTY_DIGEST,
                                rendered.digest, error)
    try:
        pinned = pin_parent(rendered.content, parent_result.ref, parent_result.image.image_id)
    except NoParentFrom as e:
        raise KollaInputError(f"{where(request.address, 'template')} ({rendered.template_path}): {e}.")
    backend, pinned_dockerfile = await MultiGet(
        Get(BuilderBackend),
        Get(Digest, CreateDigest([FileContent("context/Dockerfile", pinned.encode())])),
    )
    inputs = [pinned_dockerfile, await Get(Digest, AddPrefix(context, "context"))]
    input_digest = await Get(Digest, MergeDigests(inputs))
    argv = ["build", "--builder", backend.kind, "--builder-version", backend.version,
            "--context", "context", "--parent", "parent", "--parent-base-id", parent_result.image.parent_id,
            "--epoch", str(kolla.source_date_epoch)]
    if not kolla.engine_layer_cache:
        argv.append("--no-engine-cache")
    if not kolla.read_engine_storage:
        argv.append("--no-read-engine-storage")
    for build_arg in target[KollaBuildArgsField].value or ():
        argv += ["--build-arg", build_arg]
    return await _run_builder(builder, backend, argv, input_digest, ref, request.address, rendered.digest,
                              kolla.retries, parent_result.image)


def rules():
    return collect_rules()
