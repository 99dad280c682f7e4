"""`pants run <image>`: build the image (from the cache), make sure the engine holds it under its name,
then `docker run --rm` it there with `[kolla].run_args`, the target's `run_args` and the arguments after
`--`, as Pants' docker backend does for `docker_image`. Without an engine (the buildah builder) one line
says how to run the image `package` wrote instead."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.core.util_rules.system_binaries import BinaryPathRequest, BinaryPaths
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.rules import Get, collect_rules, rule

from pants_kolla.core.errors import KollaError
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaImageNameField, KollaRunArgsField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_choice import BuilderBackend
from pants_kolla.util_rules.engine_load import LoadedImage, TargetImageLoadRequest

DOCKER_SEARCH_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


class ImageRunError(KollaError):
    pass


@dataclass(frozen=True)
class KollaImageRunFieldSet(RunFieldSet):
    required_fields = (KollaImageNameField,)
    run_in_sandbox_behavior = RunInSandboxBehavior.NOT_SUPPORTED

    run_args: KollaRunArgsField


@rule(desc="Run a Kolla image")
async def run_kolla_image(field_set: KollaImageRunFieldSet, kolla: KollaSubsystem) -> RunRequest:
    result = await Get(ImageBuildResult, BuildImageRequest(field_set.address))
    if result.image is None:
        raise ImageRunError(f"{result.ref} ({field_set.address.spec}) was not built:\n{result.error}")
    engine = (await Get(BuilderBackend)).engine
    if engine is None or engine.remote_host:
        raise ImageRunError(
            f"No Docker engine here holds {result.ref}: run `pants package {field_set.address.spec}`, then "
            f"`docker load` or `podman load` the folder it wrote (dist/images/<name>/image/, e.g. "
            f"`tar -C dist/images/<name>/image -c . | podman load`)."
        )
    loaded = await Get(LoadedImage, TargetImageLoadRequest(field_set.address, result.image))
    if loaded.error:
        raise ImageRunError(loaded.error)
    docker = await Get(BinaryPaths, BinaryPathRequest(binary_name="docker", search_path=DOCKER_SEARCH_PATH))
    if docker.first_path is None:
        raise ImageRunError("`pants run` starts images with the docker CLI: apt-get install -y docker.io")
    argv = (
        docker.first_path.path,
        "run",
        "--rm",
        *kolla.run_args,
        *(field_set.run_args.value or ()),
        result.ref,
    )
    return RunRequest(
        digest=EMPTY_DIGEST,
        args=argv,
        extra_env=engine.env,
        append_only_caches=engine.append_only_caches,
    )


def rules():
    return [*collect_rules(), *KollaImageRunFieldSet.rules()]
