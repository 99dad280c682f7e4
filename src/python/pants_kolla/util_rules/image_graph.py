"""Rules: the repo's image tree (from all targets) and the parent/template-library dependency edges."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    Target,
)
from pants.engine.unions import UnionRule

from pants_kolla.image_graph import ROOTFS, ImageGraph, ImageNode
from pants_kolla.util_rules.template_libraries import TemplateLibraries, TemplateLibrariesRequest
from pants_kolla.target_types import (
    DebianRootfsTarget,
    KollaDialectField,
    KollaImageNameField,
    KollaImageTarget,
    KollaInstallTypeField,
    KollaParentField,
    KollaTemplateLibrarySourcesField,
)


@dataclass(frozen=True)
class KollaRepo:
    graph: ImageGraph
    template_libraries: tuple[Address, ...]


def image_node(tgt: Target) -> ImageNode:
    if isinstance(tgt, DebianRootfsTarget):
        return ImageNode(tgt.address, ROOTFS, None, tgt[KollaImageNameField].value)
    return ImageNode(
        tgt.address,
        tgt[KollaInstallTypeField].value,
        tgt[KollaParentField].value,
        tgt[KollaImageNameField].value,
        tgt[KollaDialectField].value,
    )


@rule(desc="Collect the Kolla image tree")
async def kolla_repo(all_targets: AllTargets) -> KollaRepo:
    nodes = [image_node(t) for t in all_targets if isinstance(t, (KollaImageTarget, DebianRootfsTarget))]
    libraries = tuple(t.address for t in all_targets if t.has_field(KollaTemplateLibrarySourcesField))
    return KollaRepo(ImageGraph.from_nodes(nodes), libraries)


@dataclass(frozen=True)
class KollaImageInferenceFieldSet(FieldSet):
    required_fields = (KollaParentField,)
    parent: KollaParentField


class InferKollaImageDependencies(InferDependenciesRequest):
    infer_from = KollaImageInferenceFieldSet


@rule(desc="Infer a kolla_image's parent and template libraries")
async def infer_kolla_image_dependencies(
    request: InferKollaImageDependencies, repo: KollaRepo
) -> InferredDependencies:
    parent = repo.graph.parent_of(request.field_set.address)
    libraries = await Get(TemplateLibraries, TemplateLibrariesRequest(request.field_set.address))
    return InferredDependencies([*([parent.address] if parent else []), *libraries.addresses])


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferKollaImageDependencies),
    ]
