"""`pants publish`: push each packaged image to `[kolla].registry`, following Pants' publish protocol.

Pants' core `publish` goal packages every target first (our `package` builds from the cache and loads
the image into the engine), then asks this rule for the `PublishProcesses` and runs them one by one.

Pushing is a side effect, so it is an `InteractiveProcess`, as in Pants' docker backend: the core goal
only runs those (after all packages are built, with the push output on the terminal, never cached, and
with a published/failed line per image). A `PER_SESSION` `Process` would run inside the rule graph
before the goal reports anything, and would need output files we have no use for.

The push is the engine's (`builder/cli.py push`, docker SDK): the engine already holds the image after
`package`, skips blobs the registry has (HEAD, or a cross-repository mount) and reads credentials from
Docker's config. The image is tagged by its content-addressed ID right before the push, so a concurrent
build retagging names in a shared engine cannot change what is published.

Each target is one image and yields one publish job: an infra image is a single target whatever install
types are selected, so it is pushed once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.publish import (
    PublishFieldSet,
    PublishOutputData,
    PublishPackages,
    PublishProcesses,
    PublishRequest,
)
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import InteractiveProcess, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict

from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaExtraTagsField, KollaImageNameField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.engine_endpoint import EngineEndpoint
from pants_kolla.util_rules.prerequisites import BuilderPex

# Where Docker's client looks for credentials; only paths are passed, never a secret (the core goal logs
# the whole InteractiveProcess, env included, at debug level).
CREDENTIAL_ENV = ("DOCKER_CONFIG", "HOME")


class PublishKollaImageRequest(PublishRequest):
    pass


@dataclass(frozen=True)
class PublishKollaImageFieldSet(PublishFieldSet):
    """Both image target types (`kolla_image`, `debian_rootfs`): each has an image name."""

    publish_request_type = PublishKollaImageRequest
    required_fields = (KollaImageNameField,)

    extra_tags: KollaExtraTagsField

    def get_output_data(self) -> PublishOutputData:
        return PublishOutputData({"publisher": "kolla", **super().get_output_data()})


def registry_refs(registry: str, ref: str, extra_tags: tuple[str, ...]) -> tuple[str, ...]:
    repository = ref.rpartition(":")[0]
    return (f"{registry}/{ref}", *(f"{registry}/{repository}:{t}" for t in extra_tags))


def _push_argv(image_id: str, refs: tuple[str, ...], kolla: KollaSubsystem) -> tuple[str, ...]:
    argv = [
        "push",
        "--image-id",
        image_id,
        "--registry",
        kolla.registry,
        "--retries",
        str(kolla.push_retries),
    ]
    if kolla.registry in kolla.insecure_registries:
        argv.append("--insecure")
    for ref in refs:
        argv += ["--dest", ref]
    return tuple(argv)


def _nothing_to_push(ref: str, why: str) -> PublishProcesses:
    return PublishProcesses([PublishPackages(names=(ref,), description=why)])


@rule(desc="Publish a Kolla image")
async def publish_kolla_image(
    request: PublishKollaImageRequest, kolla: KollaSubsystem, builder: BuilderPex
) -> PublishProcesses:
    # Memoized: `package` built it.
    result = await Get(ImageBuildResult, BuildImageRequest(request.field_set.address))
    built = result.image
    if built is None:  # only reachable for allowed_to_fail images: `package` failed the run otherwise
        return _nothing_to_push(result.ref, "(not built: nothing to push)")
    if not kolla.registry:
        return _nothing_to_push(built.ref, "(no `[kolla].registry` is set)")
    refs = registry_refs(kolla.registry.rstrip("/"), built.ref, request.field_set.extra_tags.value or ())
    engine, env = await MultiGet(
        Get(EngineEndpoint), Get(EnvironmentVars, EnvironmentVarsRequest(CREDENTIAL_ENV))
    )
    process = await Get(
        Process,
        BuilderProcess(
            pex=builder.pex,
            argv=_push_argv(built.image_id, refs, kolla),
            description=f"Pushing {', '.join(refs)}",
            engine_env=engine.env,
            extra_env=FrozenDict(env),
            append_only_caches=engine.append_only_caches,
        ),
    )
    interactive = InteractiveProcess.from_process(process)
    return PublishProcesses([PublishPackages(names=refs, process=interactive, description=kolla.registry)])


def rules():
    return [*collect_rules(), *PublishKollaImageFieldSet.rules()]
