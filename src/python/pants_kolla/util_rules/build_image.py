"""Rules: build one image (or rootfs) as a cacheable process whose output is a docker-archive directory.

Inputs of an image build are exactly: the rendered Dockerfile, the declared context files, the parent's
archive (by content digest), the builder's code, kind and version, and the declared build args. The
engine endpoint stays out of the cache key (util_rules/engine_endpoint.py).

A failed build is a result, not an exception: independent branches go on building, descendants are
reported as PARENT_FAILED (Kolla's PARENT_ERROR), and the run summary decides the exit code.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Optional

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
from pants.engine.target import Target, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict

from pants_kolla.builder import exit_codes
from pants_kolla.core.errors import KollaInputError, display, where
from pants_kolla.core.package_lock import LockError, check_rootfs_lock, rootfs_requested
from pants_kolla.core.parent_pin import NoParentFrom, pin_parent
from pants_kolla.core.registry_refs import is_plain_http, parse_pinned
from pants_kolla.core.run_summary import ImageStatus
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import (
    DebianPackagesField,
    DebianSuiteField,
    DebianVariantField,
    KollaBuildArgsField,
    KollaPackageLockField,
    KollaSquashField,
    RegistryImageField,
)
from pants_kolla.util_rules.build_context import ContextFilesRequest
from pants_kolla.util_rules.builder_choice import BuilderBackend
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.engine_endpoint import EngineEndpoint, EngineUnreachable, how_to_start_engine
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest, checked_ancestry
from pants_kolla.util_rules.locked_debs import DEBS_FOLDER, LockedDebs, LockedDebsRequest
from pants_kolla.util_rules.package_lock_files import read_package_lock
from pants_kolla.util_rules.prerequisites import Builder
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla.util_rules.rootfs_mirror_auth import RootfsMirror

# Where an image build writes the IDs of the step images it left in the engine.
STEP_IMAGES_FILE = "step-images.json"
# Where an image build writes the image's dpkg database (for its SBOM).
PACKAGES_FILE = "packages.dpkg"
# The parent's PACKAGES_FILE in a child's build: the child reads only its own layers for its own.
PARENT_PACKAGES_DIR = "parent-packages"
PARENT_PACKAGES_FILE = f"{PARENT_PACKAGES_DIR}/{PACKAGES_FILE}"


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
    packages: Digest = EMPTY_DIGEST  # PACKAGES_FILE: the image's dpkg status file


@dataclass(frozen=True)
class ImageBuildResult:
    address: Address
    ref: str
    status: ImageStatus  # BUILT or FAILED as the process reported; CACHED is decided per run
    image: BuiltImage | None
    log: Digest  # `build.log`, also for failures
    dockerfile: Digest  # `Dockerfile` (empty for a rootfs)
    error: str = ""
    metadata: ProcessResultMetadata | None = dataclasses.field(default=None, compare=False)
    # The step images the build left in the engine for its layer cache (util_rules' engine_step_images).
    step_images: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.image is not None


@dataclass(frozen=True)
class _BuilderRun:
    """One builder invocation that makes one image: what it runs, with what, against which engine."""

    address: Address
    ref: str
    argv: tuple[str, ...]
    input_digest: Digest = EMPTY_DIGEST
    dockerfile: Digest = EMPTY_DIGEST  # the rendered `Dockerfile` (none for a root image)
    engine: Optional[EngineEndpoint] = None
    append_only_caches: FrozenDict[str, str] = FrozenDict()
    parent: Optional[BuiltImage] = None
    # An image build (FROM a parent) reports the step images it leaves for the engine's layer cache.
    reports_step_images: bool = False


async def _layers_of(archive: Digest) -> Digest:
    return await Get(Digest, DigestSubset(archive, PathGlobs(["*/layer.tar"])))


def _attempt(process: Process, attempt: int) -> Process:
    """The same build again, after a transient failure. Pants memoizes an equal Process for the session,
    so the retry must differ; it differs only in fields outside the cache key (the description and the
    remote-cache speculation delay, which no local run reads), so a retry that succeeds is cached under
    the very key a later run's first attempt looks up, and `[kolla].retries` is in no key."""
    delay = process.remote_cache_speculation_delay_millis + attempt  # on top of a remote head start
    return dataclasses.replace(
        process,
        description=f"{process.description} (retry {attempt})",
        remote_cache_speculation_delay_millis=delay,
    )


def _named(manifest: bytes, ref: str) -> CreateDigest:
    """The archive's manifest naming the image: builds never see the name (it is in no cache key)."""
    entries = [{**entry, "RepoTags": [ref]} for entry in json.loads(manifest)]
    return CreateDigest([FileContent("manifest.json", json.dumps(entries, sort_keys=True).encode())])


async def _run_with_retries(process: Process, retries: int) -> FallibleProcessResult:
    result = await Get(FallibleProcessResult, Process, process)
    for attempt in range(1, retries + 1):
        if result.exit_code != exit_codes.TRANSIENT:
            break
        result = await Get(FallibleProcessResult, Process, _attempt(process, attempt))
    return result


async def _built_image(output: Digest, ref: str, parent: Optional[BuiltImage]) -> BuiltImage:
    """The image in the builder's output: its own layers, named, plus the parent's layers by digest."""
    archive_dir = await Get(Digest, DigestSubset(output, PathGlobs(["image/**"])))
    own_files, manifest = await MultiGet(
        Get(Digest, RemovePrefix(archive_dir, "image")),
        Get(DigestContents, DigestSubset(output, PathGlobs(["image/manifest.json"]))),
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
    packages = await Get(Digest, DigestSubset(output, PathGlobs([PACKAGES_FILE])))
    config = json.loads(manifest[0].content)[0]["Config"]
    image_id = "sha256:" + config.split("/")[-1].split(".")[0]
    return BuiltImage(
        ref=ref,
        image_id=image_id,
        archive=archive,
        build_input=build_input,
        parent_id=parent.image_id if parent else "",
        packages=packages,
    )


async def _run_builder(run: _BuilderRun, builder: Builder, retries: int) -> ImageBuildResult:
    engine = run.engine
    process = await Get(
        Process,
        BuilderProcess(
            builder=builder,
            argv=(*run.argv, "--out", "image", "--log", "build.log", "--packages-out", PACKAGES_FILE),
            description=f"Building {run.ref}",
            input_digest=run.input_digest,
            immutable_inputs=FrozenDict({"parent": run.parent.build_input} if run.parent else {}),
            output_files=(
                ("build.log", PACKAGES_FILE, STEP_IMAGES_FILE)
                if run.reports_step_images
                else ("build.log", PACKAGES_FILE)
            ),
            output_directories=("image",),
            engine_env=engine.env if engine else FrozenDict(),
            append_only_caches=FrozenDict(
                {**(engine.append_only_caches if engine else FrozenDict()), **run.append_only_caches}
            ),
        ),
    )
    result = await _run_with_retries(process, retries)
    if result.exit_code == exit_codes.ENGINE_UNREACHABLE:
        raise EngineUnreachable(
            f"{result.stderr.decode(errors='replace').strip()}\n"
            + how_to_start_engine(engine.docker_host if engine else "?")
        )
    log = await Get(Digest, DigestSubset(result.output_digest, PathGlobs(["build.log"])))
    failed = ImageBuildResult(
        address=run.address,
        ref=run.ref,
        status=ImageStatus.FAILED,
        image=None,
        log=log,
        dockerfile=run.dockerfile,
        error=f"Building {run.ref} ({display(run.address)}) failed with exit code {result.exit_code}.\n"
        + result.stderr.decode(errors="replace").strip(),
        metadata=result.metadata,
    )
    if result.exit_code != 0:
        return failed
    image = await _built_image(result.output_digest, run.ref, run.parent)
    steps = await _step_images(result.output_digest) if run.reports_step_images else ()
    return dataclasses.replace(failed, status=ImageStatus.BUILT, image=image, error="", step_images=steps)


async def _step_images(output: Digest) -> tuple[str, ...]:
    contents = await Get(DigestContents, DigestSubset(output, PathGlobs([STEP_IMAGES_FILE])))
    return tuple(json.loads(contents[0].content)) if contents else ()


async def _root_image_run(address: Address, ref: str, target: Target, kolla: KollaSubsystem) -> _BuilderRun:
    """A root image: pulled by digest (`registry_image`), or a Debian rootfs made by mmdebstrap."""
    pinned = parse_pinned(target.get(RegistryImageField).value or "")
    if pinned:
        argv = ["pull", "--image", pinned.by_digest]
        if is_plain_http(pinned.name, tuple(kolla.insecure_registries)):
            argv.append("--plain-http")
        return _BuilderRun(address=address, ref=ref, argv=tuple(argv))
    mirror = await Get(RootfsMirror)
    argv = [
        "rootfs",
        "--suite",
        target[DebianSuiteField].value,
        "--variant",
        target[DebianVariantField].value,
        "--mirror",
        mirror.url,
        "--apt-auth",
        mirror.auth_file,
        "--epoch",
        str(kolla.source_date_epoch),
    ]
    for package in target[DebianPackagesField].value or ():
        argv += ["--include", package]
    debs = await _rootfs_debs(target)
    if debs is not None:
        argv += ["--debs", DEBS_FOLDER]
    return _BuilderRun(
        address=address,
        ref=ref,
        argv=tuple(argv),
        input_digest=debs.digest if debs else EMPTY_DIGEST,
        append_only_caches=mirror.append_only_caches,
    )


async def _rootfs_debs(target: Target) -> Optional[LockedDebs]:
    """The rootfs lock's .debs, when it has a lock; a lock for other packages is an input error."""
    lock_file = await read_package_lock(target)
    if lock_file.lock is None:
        return None
    requested = rootfs_requested(target[DebianVariantField].value, target[DebianPackagesField].value or ())
    try:
        install = check_rootfs_lock(lock_file.lock, requested, lock_file.path, lock_file.relock_command)
    except LockError as e:
        raise KollaInputError(f"{where(target.address, KollaPackageLockField.alias)}: {e}")
    return await Get(LockedDebs, LockedDebsRequest(target.address, install.debs))


async def _build_inputs(address: Address, rendered: RenderedDockerfile, parent: ImageBuildResult) -> Digest:
    """The build context: the Dockerfile, its `FROM` pinned to the parent's image ID, and the declared files."""
    assert parent.image is not None
    try:
        pinned = pin_parent(rendered.content, parent.ref, parent.image.image_id)
    except NoParentFrom as e:
        raise KollaInputError(f"{where(address, 'template')} ({rendered.template_path}): {e}.")
    dockerfile, context, debs, parent_packages = await MultiGet(
        Get(Digest, CreateDigest([FileContent("context/Dockerfile", pinned.encode())])),
        Get(Digest, ContextFilesRequest(address)),
        Get(LockedDebs, LockedDebsRequest(address, rendered.locked_debs)),
        Get(Digest, AddPrefix(parent.image.packages, PARENT_PACKAGES_DIR)),
    )
    prefixed = await Get(Digest, AddPrefix(context, "context"))
    return await Get(Digest, MergeDigests([dockerfile, prefixed, debs.digest, parent_packages]))


def _build_argv(
    backend: BuilderBackend, parent: BuiltImage, target: Target, kolla: KollaSubsystem, locked: bool
) -> tuple[str, ...]:
    argv = [
        "build",
        "--builder",
        backend.kind,
        "--builder-version",
        backend.version,
        "--context",
        "context",
        "--parent",
        "parent",
        "--parent-base-id",
        parent.parent_id,
        "--parent-packages",
        PARENT_PACKAGES_FILE,
        "--epoch",
        str(kolla.source_date_epoch),
        "--step-images-out",
        STEP_IMAGES_FILE,
    ]
    if not kolla.engine_layer_cache:
        argv.append("--no-engine-cache")
    if not kolla.read_engine_storage:
        argv.append("--no-read-engine-storage")
    if locked:
        argv += ["--debs", DEBS_FOLDER]
    if target[KollaSquashField].value:
        argv.append("--squash")
    for build_arg in target[KollaBuildArgsField].value or ():
        argv += ["--build-arg", build_arg]
    return tuple(argv)


async def _child_image(
    address: Address,
    ref: str,
    parent_address: Address,
    target: Target,
    kolla: KollaSubsystem,
    builder: Builder,
) -> ImageBuildResult:
    parent, rendered = await MultiGet(
        Get(ImageBuildResult, BuildImageRequest(parent_address)),
        Get(RenderedDockerfile, RenderDockerfileRequest(address)),
    )
    if parent.image is None:
        # Carry the root cause down, so a selected descendant explains an unselected ancestor's failure.
        error = (
            f"{ref} not built: its parent {parent.ref} ({display(parent_address)}) was not "
            f"built.\n{parent.error}"
        )
        return ImageBuildResult(
            address=address,
            ref=ref,
            status=ImageStatus.PARENT_FAILED,
            image=None,
            log=EMPTY_DIGEST,
            dockerfile=rendered.digest,
            error=error,
        )
    backend = await Get(BuilderBackend)
    input_digest = await _build_inputs(address, rendered, parent)
    run = _BuilderRun(
        address=address,
        ref=ref,
        argv=_build_argv(backend, parent.image, target, kolla, locked=bool(rendered.locked_debs)),
        input_digest=input_digest,
        dockerfile=rendered.digest,
        engine=backend.engine,
        parent=parent.image,
        reports_step_images=True,
    )
    return await _run_builder(run, builder, kolla.retries)


@rule(desc="Build a Kolla image")
async def build_image(
    request: BuildImageRequest, kolla: KollaSubsystem, builder: Builder
) -> ImageBuildResult:
    await checked_ancestry(request.address)  # a parent cycle is an input error, before any build
    link, wrapped = await MultiGet(
        Get(ImageLink, ImageLinkRequest(request.address)),
        Get(WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")),
    )
    ref = kolla.naming().ref(link.node)
    if link.parent is None:
        run = await _root_image_run(request.address, ref, wrapped.target, kolla)
        return await _run_builder(run, builder, kolla.retries)
    return await _child_image(request.address, ref, link.parent.address, wrapped.target, kolla, builder)


def rules():
    return collect_rules()
