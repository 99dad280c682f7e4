"""Rules: what a publish pushes (`PublishPlan`: every image, parents first, and one OCI layout holding
all their blobs) and the builder process that pushes it (builder/registry_publish.py).

Both publish goals use them: `kolla-publish` with every selected image in one plan (pushed by digest
`[kolla].push_jobs` at a time, tags moved when all succeeded), Pants' `publish` with one plan per target.
The process is interactive (the goals run it): it runs on this machine whatever the execution strategy of
the builds, and reads Docker's credentials config itself; nothing secret enters a command line or an
environment variable (Pants logs both at debug level).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import CreateDigest, Digest, DigestSubset, FileContent, MergeDigests, PathGlobs
from pants.engine.process import InteractiveProcess, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.core.image_tree import ImageGraph
from pants_kolla.core.registry_refs import is_plain_http
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaExtraTagsField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.builder_process import BuilderProcess
from pants_kolla.util_rules.image_tree_targets import ImageGraphRequest, ImageLink, ImageLinkRequest
from pants_kolla.util_rules.oci_layout import OciLayout, OciLayoutRequest
from pants_kolla.util_rules.prerequisites import Builder
from pants_kolla.util_rules.remote_execution import RemoteExecution

# Where skopeo looks for credentials: only paths, never a secret.
CREDENTIAL_ENV = ("DOCKER_CONFIG", "HOME", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")
# The run's record, shared by the processes of one run (a named cache; one small file per plan).
STATE_CACHE, STATE_DIR = "kolla_publish", ".kolla-publish"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


class PublishUnderRemoteExecution(KollaError):
    pass


@dataclass(frozen=True)
class PublishPlanRequest:
    addresses: tuple[Address, ...]
    partial: bool = False  # move the tags of the images that succeeded even when others failed


@dataclass(frozen=True)
class PublishPlan:
    plan: Digest  # plan.json
    layout: Digest  # index.json naming each image's manifest, and every blob
    repositories: FrozenDict[Address, str]  # registry/namespace/name of each image
    manifests: FrozenDict[Address, str]  # each image's manifest digest
    not_built: tuple[str, ...]  # refs of selected images whose build failed


def _repository(registry: str, ref: str) -> str:
    """registry/namespace/name of an image ref (`namespace/name:tag`)."""
    return f"{registry}/{ref.rpartition(':')[0]}"


def _plan_entry(registry: str, result: ImageBuildResult, layout: OciLayout, extra: tuple[str, ...]) -> dict:
    tag = result.ref.rpartition(":")[2]
    assert result.image is not None
    return {
        "repository": _repository(registry, result.ref),
        "digest": layout.manifest_digest,
        "image_id": result.image.image_id,
        "tags": [tag, *extra],
    }


async def _combined_layout(entries: list[dict], layouts: list[OciLayout]) -> Digest:
    """One OCI layout for the run: skopeo picks each image's manifest by its ref name (`i<n>`)."""
    manifests = [
        {
            "mediaType": MANIFEST_TYPE,
            "digest": e["digest"],
            "size": layout.manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": e["ref_name"]},
        }
        for e, layout in zip(entries, layouts)
    ]
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}, sort_keys=True).encode()
    files = CreateDigest(
        [FileContent("index.json", index), FileContent("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
    )
    blobs = await MultiGet(Get(Digest, DigestSubset(l.layout, PathGlobs(["blobs/**"]))) for l in layouts)
    return await Get(Digest, MergeDigests([*blobs, await Get(Digest, CreateDigest, files)]))


async def _parent_entry(registry: str, address: Address) -> dict | None:
    """The parent's repository and manifest, selected or not: the image's shared layers are mounted from
    there (builder/registry_mount.py). Both come from the child's own build and layout, already made."""
    link = await Get(ImageLink, ImageLinkRequest(address))
    if link.parent is None:
        return None
    result, layout = await MultiGet(
        Get(ImageBuildResult, BuildImageRequest(link.parent.address)),
        Get(OciLayout, OciLayoutRequest(link.parent.address)),
    )
    return {"repository": _repository(registry, result.ref), "digest": layout.manifest_digest}


async def _extra_tags(address: Address) -> tuple[str, ...]:
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-kolla"))
    return tuple(wrapped.target.get(KollaExtraTagsField).value or ())


@rule(desc="Plan the publish of Kolla images", level=LogLevel.DEBUG)
async def publish_plan(request: PublishPlanRequest, kolla: KollaSubsystem) -> PublishPlan:
    results = await MultiGet(Get(ImageBuildResult, BuildImageRequest(a)) for a in request.addresses)
    built = [(a, r) for a, r in zip(request.addresses, results) if r.image is not None]
    graph = await Get(ImageGraph, ImageGraphRequest(tuple(a for a, _ in built)))
    built.sort(key=lambda pair: (len(graph.ancestry(pair[0])), pair[1].ref))  # parents first
    layouts = list(await MultiGet(Get(OciLayout, OciLayoutRequest(a)) for a, _ in built))
    extras = [await _extra_tags(a) for a, _ in built]
    registry = kolla.registry.rstrip("/")
    parents = [await _parent_entry(registry, a) for a, _ in built]
    entries: list[dict] = [
        {**_plan_entry(registry, result, layout, extra), "ref_name": f"i{i}", "parent": parent}
        for i, ((_, result), layout, extra, parent) in enumerate(zip(built, layouts, extras, parents))
    ]
    repositories = {a: e["repository"] for (a, _), e in zip(built, entries)}
    plan = {
        "registry": registry,
        "insecure": is_plain_http(f"{registry}/x", tuple(kolla.insecure_registries)),
        "retries": kolla.push_retries,
        "jobs": kolla.push_jobs,
        "partial": request.partial,
        "layout": "layout",
        "images": entries,
    }
    plan_file = FileContent("plan.json", json.dumps(plan, indent=2, sort_keys=True).encode())
    return PublishPlan(
        plan=await Get(Digest, CreateDigest([plan_file])),
        layout=await _combined_layout(entries, layouts),
        repositories=FrozenDict(repositories),
        manifests=FrozenDict({a: l.manifest_digest for (a, _), l in zip(built, layouts)}),
        not_built=tuple(sorted(r.ref for r in results if r.image is None)),
    )


@dataclass(frozen=True)
class PublishProcessRequest:
    plan: PublishPlan
    run: str  # the run's token
    description: str
    repository: str = ""  # report only this image (Pants' `publish`: one process per target)


@rule(level=LogLevel.DEBUG)
async def publish_process(request: PublishProcessRequest, builder: Builder) -> InteractiveProcess:
    if (await Get(RemoteExecution)).remote:
        # Pants runs interactive processes only where no remote execution is set.
        raise PublishUnderRemoteExecution(
            "Publishing pushes from this machine, with its credentials: run it with --no-remote-execution "
            "(remote cache reads still bring the images the remote build made)."
        )
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(CREDENTIAL_ENV))
    argv = ["publish", "--plan", "plan.json", "--state", STATE_DIR, "--run", request.run]
    if request.repository:
        argv += ["--repository", request.repository]
    process = await Get(
        Process,
        BuilderProcess(
            builder=builder,
            argv=tuple(argv),
            description=request.description,
            input_digest=request.plan.plan,
            immutable_inputs=FrozenDict({"layout": request.plan.layout}),
            extra_env=FrozenDict(env),
            append_only_caches=FrozenDict({STATE_CACHE: STATE_DIR}),
        ),
    )
    return InteractiveProcess.from_process(process)


def rules():
    return collect_rules()
