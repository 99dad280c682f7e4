"""Rules: the image graph a run reads and the parent/template-library dependency edges.

A run reads the images it selects and their ancestors, found by following `parent` fields target by
target; never every target of the repository. A broken BUILD file in a folder the run does not select
(another team's images, say) changes nothing, and the cost of a run follows what it selects.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.base.glob_match_error_behavior import GlobMatchErrorBehavior
from pants.base.specs import DirGlobSpec, RawSpecs
from pants.engine.addresses import Address
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    Target,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaInputError, where
from pants_kolla.core.image_tree import ROOTFS, ImageGraph, ImageNode, parent_target_address
from pants_kolla.target_types import (
    DebianRootfsTarget,
    KollaDialectField,
    KollaImageNameField,
    KollaImageTarget,
    KollaInstallTypeField,
    KollaParentField,
)
from pants_kolla.util_rules.template_library_targets import TemplateLibraries, TemplateLibrariesRequest


def is_image(tgt: Target) -> bool:
    return isinstance(tgt, (KollaImageTarget, DebianRootfsTarget))


def image_node(tgt: Target) -> ImageNode:
    if isinstance(tgt, DebianRootfsTarget):
        return ImageNode(
            address=tgt.address,
            install_type=ROOTFS,
            parent_spec=None,
            image_name=tgt[KollaImageNameField].value,
        )
    return ImageNode(
        address=tgt.address,
        install_type=tgt[KollaInstallTypeField].value,
        parent_spec=tgt[KollaParentField].value,
        image_name=tgt[KollaImageNameField].value,
        dialect=tgt[KollaDialectField].value,
    )


@dataclass(frozen=True)
class ImageLinkRequest:
    address: Address


@dataclass(frozen=True)
class ImageLink:
    """One image and the parent its `parent` field resolves to (None for a rootfs)."""

    node: ImageNode
    parent: ImageNode | None


@rule(desc="Find a Kolla image's parent", level=LogLevel.DEBUG)
async def image_link(request: ImageLinkRequest) -> ImageLink:
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")
    )
    if not is_image(wrapped.target):
        raise KollaInputError(f"`{request.address.spec}` is not a kolla_image or debian_rootfs target.")
    node = image_node(wrapped.target)
    if node.is_rootfs:
        return ImageLink(node, None)
    parent_address = parent_target_address(node)
    # The parent's folder only (every variant of a parametrized parent); no match is our error below.
    in_parent_folder = await Get(
        Targets,
        RawSpecs(
            dir_globs=(DirGlobSpec(parent_address.spec_path),),
            unmatched_glob_behavior=GlobMatchErrorBehavior.ignore,
            description_of_origin=where(node.address, "parent"),
        ),
    )
    variants = [
        image_node(t)
        for t in in_parent_folder
        if is_image(t) and t.address.target_name == parent_address.target_name
    ]
    parent = ImageGraph.from_nodes([node, *variants]).parent_of(node.address)
    return ImageLink(node, parent)


@dataclass(frozen=True)
class ImageGraphRequest:
    addresses: tuple[Address, ...]


@rule(desc="Collect the Kolla images a run reads", level=LogLevel.DEBUG)
async def image_graph(request: ImageGraphRequest) -> ImageGraph:
    """The requested images and all their ancestors, one `parent` hop at a time."""
    nodes: dict[Address, ImageNode] = {}
    frontier = set(request.addresses)
    while frontier:
        links = await MultiGet(Get(ImageLink, ImageLinkRequest(a)) for a in sorted(frontier))
        nodes.update((link.node.address, link.node) for link in links)
        # A parent already read ends the walk, so a parent cycle terminates (ancestry() reports it).
        frontier = {link.parent.address for link in links if link.parent and link.parent.address not in nodes}
    return ImageGraph.from_nodes(nodes.values())


async def checked_ancestry(address: Address) -> ImageGraph:
    """The image's own ancestry, checked for cycles: before any build or render starts."""
    graph = await Get(ImageGraph, ImageGraphRequest((address,)))
    graph.ancestry(address)
    return graph


@dataclass(frozen=True)
class KollaImageInferenceFieldSet(FieldSet):
    required_fields = (KollaParentField,)
    parent: KollaParentField


class InferKollaImageDependencies(InferDependenciesRequest):
    infer_from = KollaImageInferenceFieldSet


@rule(desc="Infer a kolla_image's parent and template libraries")
async def infer_kolla_image_dependencies(request: InferKollaImageDependencies) -> InferredDependencies:
    address = request.field_set.address
    link, libraries = await MultiGet(
        Get(ImageLink, ImageLinkRequest(address)), Get(TemplateLibraries, TemplateLibrariesRequest(address))
    )
    return InferredDependencies([*([link.parent.address] if link.parent else []), *libraries.addresses])


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferKollaImageDependencies),
    ]
