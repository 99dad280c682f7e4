"""`pants publish`: Pants' core goal, one image per target (util_rules/publish_plan.py pushes it).

The core goal packages every target, asks this rule for each target's `PublishProcesses`, then runs their
interactive processes one after another; no rule of a target sees the others, so each image goes up on
its own: by digest, then its tags. For a release that moves every tag or none, with images pushed
concurrently, use `pants kolla-publish` (goals/kolla_publish.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pants.core.goals.publish import (
    PublishFieldSet,
    PublishOutputData,
    PublishPackages,
    PublishProcesses,
    PublishRequest,
)
from pants.engine.process import InteractiveProcess
from pants.engine.rules import Get, MultiGet, collect_rules, rule

from pants_kolla.package_run.run_token import KollaRun
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import KollaExtraTagsField, KollaImageNameField
from pants_kolla.util_rules.build_image import BuildImageRequest, ImageBuildResult
from pants_kolla.util_rules.publish_plan import PublishPlan, PublishPlanRequest, PublishProcessRequest


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


def _nothing_to_push(ref: str, why: str) -> PublishProcesses:
    return PublishProcesses([PublishPackages(names=(ref,), description=why)])


@rule(desc="Publish a Kolla image")
async def publish_kolla_image(request: PublishKollaImageRequest, kolla: KollaSubsystem) -> PublishProcesses:
    address = request.field_set.address
    result = await Get(ImageBuildResult, BuildImageRequest(address))  # memoized: `package` built it
    if result.image is None:  # only reachable for allowed_to_fail images: `package` failed the run otherwise
        return _nothing_to_push(result.ref, "(not built: nothing to push)")
    if not kolla.registry:
        return _nothing_to_push(result.ref, "(no `[kolla].registry` is set)")
    plan, run = await MultiGet(Get(PublishPlan, PublishPlanRequest((address,))), Get(KollaRun))
    refs = registry_refs(kolla.registry.rstrip("/"), result.ref, request.field_set.extra_tags.value or ())
    repository = plan.repositories[address]
    # One record per target in the run's state: each target's process is its own publish.
    token = f"{run.token}-{hashlib.sha256(repository.encode()).hexdigest()[:12]}"
    process = await Get(
        InteractiveProcess,
        PublishProcessRequest(plan, token, f"Publishing {', '.join(refs)}", repository),
    )
    data = PublishOutputData({"manifest_digest": plan.manifests[address], "image_id": result.image.image_id})
    return PublishProcesses(
        [PublishPackages(names=refs, process=process, description=kolla.registry, data=data)]
    )


def rules():
    return [*collect_rules(), *PublishKollaImageFieldSet.rules()]
