"""Rule: a kolla_image's build context: its declared files and nothing else from its folder."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestSubset, MergeDigests, PathGlobs, RemovePrefix
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import DependenciesRequest, Targets, WrappedTarget, WrappedTargetRequest

from pants_kolla.target_types import KollaImageDependenciesField
from pants_kolla.util_rules.context_pexes import ContextPexes, ContextPexRequest


@dataclass(frozen=True)
class ContextFilesRequest:
    address: Address


@rule(desc="Collect a Kolla image's declared context files")
async def context_files(request: ContextFilesRequest) -> Digest:
    """Files in the image's folder go to the context root (Kolla's context is the folder); others keep
    their repo path."""
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")
    )
    dependencies = await Get(Targets, DependenciesRequest(wrapped.target[KollaImageDependenciesField]))
    sources = await Get(
        SourceFiles,
        SourceFilesRequest(
            [
                t[FileSourceField] if t.has_field(FileSourceField) else t[ResourceSourceField]
                for t in dependencies
                if t.has_field(FileSourceField) or t.has_field(ResourceSourceField)
            ],
            for_sources_types=(FileSourceField, ResourceSourceField),
        ),
    )
    # pex_binary dependencies of source images, built on the host (util_rules/context_pexes.py).
    pexes = await Get(ContextPexes, ContextPexRequest(request.address, dependencies))
    folder = request.address.spec_path
    if not folder:
        return await Get(Digest, MergeDigests([sources.snapshot.digest, pexes.digest]))
    inside, outside = await MultiGet(
        Get(Digest, DigestSubset(sources.snapshot.digest, PathGlobs([f"{folder}/**"]))),
        Get(Digest, DigestSubset(sources.snapshot.digest, PathGlobs(["**", f"!{folder}/**"]))),
    )
    inside = await Get(Digest, RemovePrefix(inside, folder))
    return await Get(Digest, MergeDigests([inside, outside, pexes.digest]))


def rules():
    return collect_rules()
