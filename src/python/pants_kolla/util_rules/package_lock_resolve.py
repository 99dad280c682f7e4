"""Rule: resolve one image's package lock with apt, in a container of its parent as Pants built it.

The template is rendered without its lock (what it asks for is what gets locked), the parent is built
(with its own lock, if it has one), and the builder's `lock` runs apt there: one process per image and
run (its answer depends on the mirror's state, so it is never cached).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import Target, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict

from pants_kolla.core.errors import KollaBuildError, display
from pants_kolla.core.package_lock import LockedInstall, PackageLock, debs_from_print_uris, rootfs_requested
from pants_kolla.target_types import (
    DebianPackagesField,
    DebianSuiteField,
    DebianVariantField,
    RegistryImageField,
)
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_choice import BuilderBackend
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest
from pants_kolla.util_rules.package_lock_files import read_package_lock
from pants_kolla.util_rules.prerequisites import Builder
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile
from pants_kolla.util_rules.rootfs_mirror_auth import RootfsMirror

RESOLVED_FILE = "resolved.json"


@dataclass(frozen=True)
class ResolveLockRequest:
    address: Address


@dataclass(frozen=True)
class ResolvedLock:
    """One target's part of its folder's lock (the variants of a parametrized target share the file)."""

    address: Address
    path: str  # the lock file, from the build root
    lock: Optional[PackageLock]  # None when the target installs no packages
    existing: Optional[PackageLock]  # what the file holds now (None: no file, or a broken one)
    scope: str = ""  # which installs of the file are this target's (core/package_lock.py)


def _lock_process(
    address: Address, parent: ImageBuildResult, backend: BuilderBackend, builder: Builder, installs: Digest
) -> BuilderProcess:
    assert parent.image is not None and backend.engine is not None
    return BuilderProcess(
        builder=builder,
        argv=(
            "lock",
            "--parent",
            "parent",
            "--parent-base-id",
            parent.image.parent_id,
            "--installs",
            "installs.json",
            "--out",
            RESOLVED_FILE,
        ),
        description=f"Resolving the package installs of {display(address)} with apt in {parent.ref}",
        input_digest=installs,
        immutable_inputs=FrozenDict({"parent": parent.image.build_input}),
        output_files=(RESOLVED_FILE,),
        engine_env=backend.engine.env,
        append_only_caches=backend.engine.append_only_caches,
        cache_scope=ProcessCacheScope.PER_SESSION,
    )


def _rootfs_lock_process(target: Target, mirror: str, builder: Builder) -> BuilderProcess:
    argv = [
        "rootfs-lock",
        "--suite",
        target[DebianSuiteField].value,
        "--variant",
        target[DebianVariantField].value,
    ]
    for package in target[DebianPackagesField].value or ():
        argv += ["--include", package]
    return BuilderProcess(
        builder=builder,
        argv=(*argv, "--mirror", mirror, "--out", RESOLVED_FILE),
        description=f"Resolving the .debs of {display(target.address)} with mmdebstrap",
        output_files=(RESOLVED_FILE,),
        cache_scope=ProcessCacheScope.PER_SESSION,
    )


async def _image_process(
    address: Address, requested: tuple[tuple[str, ...], ...], backend: BuilderBackend, builder: Builder
) -> BuilderProcess:
    if backend.engine is None:
        raise KollaBuildError(
            f"kolla-lock resolves {display(address)} with apt in a container of its parent, which needs "
            "the Docker engine; none answers (start it, or set DOCKER_HOST)."
        )
    link = await Get(ImageLink, ImageLinkRequest(address))
    assert link.parent is not None
    parent = await Get(ImageBuildResult, BuildImageRequest(link.parent.address))
    if parent.image is None:
        raise KollaBuildError(f"Locking {display(address)} needs its parent, which failed:\n{parent.error}")
    installs = json.dumps([list(r) for r in requested]).encode()
    digest = await Get(Digest, CreateDigest([FileContent("installs.json", installs)]))
    return _lock_process(address, parent, backend, builder, digest)


async def _requested_and_process(
    target: Target, builder: Builder, backend: BuilderBackend
) -> tuple[tuple[tuple[str, ...], ...], str, BuilderProcess | None]:
    """What the target asks apt (or mmdebstrap) for, in which scope of the lock, and the process that
    resolves it (None: nothing)."""
    if target.has_field(RegistryImageField) and target[RegistryImageField].value:
        return (), "", None  # pulled by digest: nothing to lock
    if target.has_field(DebianVariantField):
        mirror = await Get(RootfsMirror)
        variant, packages = target[DebianVariantField].value, target[DebianPackagesField].value or ()
        return (rootfs_requested(variant, packages),), "", _rootfs_lock_process(target, mirror.url, builder)
    rendered = await Get(RenderedDockerfile, RenderDockerfileRequest(target.address, ignore_lock=True))
    if not rendered.apt_requested:
        return (), rendered.apt_scope, None
    process = await _image_process(target.address, rendered.apt_requested, backend, builder)
    return rendered.apt_requested, rendered.apt_scope, process


@rule(desc="Resolve an image's package lock")
async def resolve_lock(
    request: ResolveLockRequest, builder: Builder, backend: BuilderBackend
) -> ResolvedLock:
    address = request.address
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-kolla"))
    lock_file = await read_package_lock(wrapped.target, broken_is_absent=True)
    path, existing = lock_file.path, lock_file.lock
    requested, scope, lock_process = await _requested_and_process(wrapped.target, builder, backend)
    if lock_process is None:
        return ResolvedLock(address, path, None, existing, scope)
    process = await Get(Process, BuilderProcess, lock_process)
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        raise KollaBuildError(
            f"Locking {display(address)} failed:\n{result.stderr.decode(errors='replace').strip()}"
        )
    resolved = json.loads((await Get(DigestContents, Digest, result.output_digest))[0].content)
    lock = PackageLock(
        release=tuple(resolved["release"]),
        installs=tuple(
            LockedInstall(asked, debs_from_print_uris(output, path), scope)
            for asked, output in zip(requested, resolved["installs"])
        ),
    )
    return ResolvedLock(address, path, lock, existing, scope)


def rules():
    return collect_rules()
