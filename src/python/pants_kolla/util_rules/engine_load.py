"""Rule: make sure the engine holds a built image under its name (a per-session step that also repairs an
engine whose images were deleted, cf. Pants issue #13461).

The usual answer is "it already does": with pantsd, names the engine's event stream reports unchanged
since a run checked them are trusted without asking (engine_events.py); others are asked in-process over
the engine's API (about a millisecond each), so a no-op run starts no process. Only an image the engine
lacks is loaded, by the builder process, from its archive, after its parent: the load sends only the
layers the engine lacks when it starts, so a parent loaded first keeps its children from each sending the
parent's layers again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from pants.engine.addresses import Address
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.image_tree import ImageGraph
from pants_kolla.docker_api import engine_client, engine_events
from pants_kolla.util_rules.build_image import BuildImageRequest, BuiltImage, ImageBuildResult
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.engine_endpoint import EngineEndpoint
from pants_kolla.util_rules.image_tree_targets import ImageGraphRequest
from pants_kolla.util_rules.per_session import PerSession
from pants_kolla.util_rules.prerequisites import Builder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrustedEngineNames(PerSession):
    """Engine names known to still point at their images (engine_events.py), for this run."""

    docker_host: engine_client.Endpoint | str
    names: frozenset  # of (ref, image ID)
    token: int | None  # to record names this run checks; None when the engine is not being watched


@dataclass(frozen=True)
class TargetImageLoadRequest:
    """A built target's image, loaded with the ancestors the engine lacks, oldest first."""

    address: Address
    image: BuiltImage


@dataclass(frozen=True)
class LoadImageRequest:
    image: BuiltImage
    parent: Optional[LoadImageRequest] = None  # loaded first where the engine lacks this image


@dataclass(frozen=True)
class LoadedImage(PerSession):
    ref: str
    image_id: str
    error: str = ""


def _tag_if_present(docker_host: engine_client.Endpoint, image: BuiltImage) -> bool:
    """True when the engine holds the image under its name now (tagging it if only the ID was there)."""
    if engine_client.image_id(docker_host, image.ref) == image.image_id:
        return True
    if engine_client.image_id(docker_host, image.image_id) is None:
        return False
    engine_client.tag(docker_host, image.image_id, image.ref)
    return True


# Per session, as everything that reads the engine: its images may have changed since the last run.
@rule(desc="Ask which engine names still hold")
async def trusted_engine_names() -> TrustedEngineNames:
    engine = await Get(EngineEndpoint)
    # A remote worker's engine: the load process asks it (util_rules/worker_probe.py).
    if engine.remote_host:
        return TrustedEngineNames(engine.docker_host, frozenset(), None)
    names, token = engine_events.watch_for(engine.docker_host).snapshot()
    logger.debug(
        f"Engine names trusted without asking: {len(names)} (no image event since a run checked them)"
    )
    return TrustedEngineNames(engine.docker_host, names, token)


def _load_process(image: BuiltImage, engine: EngineEndpoint, builder: Builder) -> BuilderProcess:
    argv = (
        "load",
        "--image",
        "image",
        "--base-id",
        image.parent_id,
        "--tag",
        image.ref,
        "--out",
        "loaded.json",
    )
    return BuilderProcess(
        builder=builder,
        argv=argv,
        description=f"Loading {image.ref} into the engine",
        # An immutable input: linked into the sandbox, not copied (it can be gigabytes).
        immutable_inputs=FrozenDict({"image": image.archive}),
        output_files=("loaded.json",),
        engine_env=engine.env,
        append_only_caches=engine.append_only_caches,
        cache_scope=ProcessCacheScope.PER_SESSION,
        level=LogLevel.DEBUG,
    )


@rule(desc="Load an image into the Docker engine")
async def load_image(request: LoadImageRequest, builder: Builder) -> LoadedImage:
    image = request.image
    engine, trusted = await MultiGet(Get(EngineEndpoint), Get(TrustedEngineNames))
    if (image.ref, image.image_id) in trusted.names:
        return LoadedImage(image.ref, image.image_id)
    try:
        if not engine.remote_host and _tag_if_present(engine_client.as_endpoint(engine.docker_host), image):
            engine_events.record(trusted.docker_host, trusted.token, image.ref, image.image_id)
            return LoadedImage(image.ref, image.image_id)
    except engine_client.EngineApiError as e:
        return LoadedImage(image.ref, image.image_id, f"Tagging {image.ref} in the engine failed: {e}")
    if request.parent is not None:
        # A parent that fails to load is its own image's failure to report; this load then sends its layers.
        await Get(LoadedImage, LoadImageRequest, request.parent)
    process = await Get(Process, BuilderProcess, _load_process(image, engine, builder))
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code == 0:
        return LoadedImage(image.ref, image.image_id)
    stderr = result.stderr.decode(errors="replace").strip()
    error = f"Loading {image.ref} into the engine at {engine.docker_host} failed:\n{stderr}"
    return LoadedImage(image.ref, image.image_id, error)


@rule(desc="Load a Kolla image and its missing ancestors into the Docker engine", level=LogLevel.DEBUG)
async def load_target_image(request: TargetImageLoadRequest) -> LoadedImage:
    graph = await Get(ImageGraph, ImageGraphRequest((request.address,)))
    ancestors = graph.ancestry(request.address)[1:]
    results = await MultiGet(Get(ImageBuildResult, BuildImageRequest(n.address)) for n in ancestors)
    parent: Optional[LoadImageRequest] = None
    for result in reversed(results):  # oldest first; a built image's ancestors are all built
        if result.image is not None:
            parent = LoadImageRequest(result.image, parent)
    return await Get(LoadedImage, LoadImageRequest(request.image, parent))


def rules():
    return collect_rules()
