"""Rule: make sure the engine holds a built image under its name (a cheap per-session step that also
repairs an engine whose images were deleted, cf. Pants issue #13461)."""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.engine.fs import AddPrefix, Digest
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.util_rules.build import FIXED_PATH, BuilderPex, BuiltImage
from pants_kolla.util_rules.engine import EngineEndpoint


@dataclass(frozen=True)
class LoadImageRequest:
    image: BuiltImage


@dataclass(frozen=True)
class LoadedImage:
    ref: str
    image_id: str
    error: str = ""


@rule(desc="Load an image into the Docker engine")
async def load_image(request: LoadImageRequest, builder: BuilderPex) -> LoadedImage:
    image = request.image
    engine, input_digest = await MultiGet(
        Get(EngineEndpoint), Get(Digest, AddPrefix(image.archive, "image"))
    )
    process = await Get(
        Process,
        VenvPexProcess(
            builder.pex,
            argv=["load", "--image", "image", "--tag", image.ref, "--out", "loaded.json"],
            input_digest=input_digest,
            extra_env={"PATH": FIXED_PATH, **engine.env},
            append_only_caches=engine.append_only_caches,
            output_files=("loaded.json",),
            cache_scope=ProcessCacheScope.PER_SESSION,
            description=f"Loading {image.ref} into the engine",
            level=LogLevel.DEBUG,
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    error = "" if result.exit_code == 0 else (
        f"Loading {image.ref} into the engine at {engine.docker_host} failed:\n"
        f"{result.stderr.decode(errors='replace').strip()}"
    )
    return LoadedImage(image.ref, image.image_id, error)


def rules():
    return collect_rules()
