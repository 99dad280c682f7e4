"""Rule: one image of a `package` run, all the way to what `package` writes for it.

Built (or found in Pants' cache), loaded into the engine, its dist/ files prepared and what an earlier
run left in its dist/ folder removed. A failed build is data here, never an exception: the package rule
decides when it may raise (goals/package.py). Per image, so a run's cost is linear in its images.

Per session, through Pants' public mechanism: the request names the run (a new token per session) and
`ImageRun` is `PerSession`, so with pantsd a no-op run still checks the engine and cleans dist/. Asked
for with the last session's token, it does nothing (package_run/run_token.py says why).
"""

from __future__ import annotations

import dataclasses
import logging
import os

from pants.base.build_root import BuildRoot
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, Digest
from pants.engine.process import ProcessResultMetadata
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.option.global_options import GlobalOptions
from pants.util.logging import LogLevel

from pants_kolla.core.image_tree import ImageGraph
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.run_summary import ImageOutcome, ImageStatus
from pants_kolla.docker_api import engine_client, engine_step_images
from pants_kolla.package_run import dist_folder, run_registry
from pants_kolla.package_run.dist_image import DistImage, DistImageRequest
from pants_kolla.package_run.run_token import KollaRun
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaAllowedToFailField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_choice import BuilderBackend
from pants_kolla.util_rules.engine_endpoint import EngineEndpoint
from pants_kolla.util_rules.engine_load import LoadedImage, TargetImageLoadRequest
from pants_kolla.util_rules.image_tree_targets import ImageGraphRequest
from pants_kolla.util_rules.per_session import PerSession
from pants_kolla.util_rules.render_dockerfile import RenderDockerfileRequest, RenderedDockerfile

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ImageRunRequest:
    run: str  # KollaRun's token
    address: Address


@dataclasses.dataclass(frozen=True)
class ImageRun(PerSession):
    outcome: ImageOutcome
    build_error: str  # why the build failed (its own failure or its parent's), else ""
    folder: str  # dist/<folder>/
    files: Digest  # what `package` writes there
    status_line: str
    load_error: str  # built, but the engine would not take it
    log: Digest  # build.log, for the run's report of a failure
    ancestor_refs: tuple[str, ...]  # for Kolla's `not_matched` list: ancestors the run may not package

    @property
    def failed(self) -> bool:
        return self.outcome.status.failed

    @property
    def fails_goal(self) -> bool:
        return bool(self.load_error) or (self.failed and not self.outcome.allowed_to_fail)


def _status(run: str, result: ImageBuildResult) -> ImageStatus:
    if result.status != ImageStatus.BUILT or result.metadata is None:
        return result.status
    # The source as recorded when the result was made: pantsd memoizes results across runs.
    # `source` takes Pants' RunId, a NewType of the int the metadata holds (pants.engine.internals).
    source = result.metadata.source(result.metadata.source_run_id)  # type: ignore[arg-type]
    ran = source == ProcessResultMetadata.Source.RAN
    built_now = ran and run_registry.first_seen_in(run, (result.address, result.metadata.source_run_id))
    return ImageStatus.BUILT if built_now else ImageStatus.CACHED


def _check_names(run: str, naming: NamingScheme, graph: ImageGraph) -> None:
    """Every name of the image's lineage is valid, and no other image of the run has one of them: two
    targets with one image name would overwrite each other in the engine and in dist/."""
    naming.check_unique(graph.nodes.values())
    for node in graph.nodes.values():
        first = run_registry.claim(run, naming.repository(node), node)
        if first != node:
            naming.check_unique([first, node])


def _stale_run(address: Address) -> ImageRun:
    """What a rule asked for with an earlier session's token gets: nothing to report or write."""
    return ImageRun(
        outcome=ImageOutcome(name="", spec=address.spec, status=ImageStatus.CACHED),
        build_error="",
        folder="",
        files=EMPTY_DIGEST,
        status_line="",
        load_error="",
        log=EMPTY_DIGEST,
        ancestor_refs=(),
    )


def _replace_step_images(
    result: ImageBuildResult, engine: EngineEndpoint, named_caches_dir: str, build_root: str
) -> None:
    """A build that ran in this run replaces its target's step images in the engine's layer cache (a
    remote worker's engine is the worker's to clean). The target is named with its repository: the
    record is machine-wide, and two checkouts' `images/leaf` are two targets."""
    if engine.remote_host:
        return
    endpoint = engine_client.as_endpoint(engine.docker_host)
    try:
        engine_step_images.replace_step_images(
            named_caches_dir, endpoint, f"{build_root}//{result.address.spec}", result.step_images
        )
    except engine_client.EngineApiError as e:
        logger.warning(f"The step images of {result.ref}'s previous build stay in the engine: {e}")


@rule(desc="Build, load and prepare a Kolla image's dist/ files", level=LogLevel.DEBUG)
async def run_image(
    request: ImageRunRequest,
    kolla: KollaSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    global_options: GlobalOptions,
) -> ImageRun:
    address, naming = request.address, kolla.naming()
    if not (await Get(KollaRun)).is_current(request.run):
        return _stale_run(address)
    graph = await Get(ImageGraph, ImageGraphRequest((address,)))
    _check_names(request.run, naming, graph)
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-kolla"))
    if not graph.node(address).is_rootfs:
        # Input errors the render finds (a template and its package lock disagree...) stop the run before
        # this image starts any build, its ancestors' included.
        await Get(RenderedDockerfile, RenderDockerfileRequest(address))
    result = await Get(ImageBuildResult, BuildImageRequest(address))
    outcome = ImageOutcome(
        name=result.ref,
        spec=address.spec,
        status=_status(request.run, result),
        allowed_to_fail=bool(wrapped.target.get(KollaAllowedToFailField).value),
    )
    run = ImageRun(
        outcome=outcome,
        build_error=result.error,
        folder=naming.dist_dir(graph.node(address)),
        files=EMPTY_DIGEST,
        status_line="",
        load_error="",
        log=result.log,
        ancestor_refs=tuple(sorted(naming.ref(n) for a, n in graph.nodes.items() if a != address)),
    )
    if not (result.ok or outcome.allowed_to_fail):
        return run
    engine = (await Get(BuilderBackend)).engine
    loaded = None
    if result.image is not None and engine is not None:
        loaded = await Get(LoadedImage, TargetImageLoadRequest(address, result.image))
        if loaded.error:
            return dataclasses.replace(run, load_error=loaded.error)
        if outcome.status == ImageStatus.BUILT:
            _replace_step_images(result, engine, str(global_options.named_caches_dir), build_root.path)
    dist_request = DistImageRequest(
        result=result, status=outcome.status, loaded=loaded, export_archives=kolla.export_archives
    )
    dist = await Get(DistImage, DistImageRequest, dist_request)
    # dist/ of the build root, like Pants' own goals: the process's working directory may be a subdirectory
    # (`cd images && ../pants --no-pantsd package ./cron`).
    dist_folder.remove_stale(os.path.join(build_root.path, dist_dir.relpath, run.folder), dist.paths)
    return dataclasses.replace(run, files=dist.files, status_line=dist.status_line)


def rules():
    return collect_rules()
