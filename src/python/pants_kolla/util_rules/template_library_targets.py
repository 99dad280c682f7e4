"""Rule: the `kolla_template_library` targets of one image, per tree: the libraries it depends on
explicitly if any, else those of the nearest folder with any, from the image's own up to the build root.
Reads only those folders (no AllTargets)."""

from __future__ import annotations

from dataclasses import dataclass

from pants.base.specs import AncestorGlobSpec, RawSpecs
from pants.engine.addresses import Address, Addresses
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import (
    Dependencies,
    DependenciesRequest,
    ExplicitlyProvidedDependencies,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.option.global_options import GlobMatchErrorBehavior
from pants.util.logging import LogLevel

from pants_kolla.target_types import KollaTemplateLibrarySourcesField


@dataclass(frozen=True)
class TemplateLibrariesRequest:
    address: Address


@dataclass(frozen=True)
class TemplateLibraries:
    addresses: tuple[Address, ...]


def _depth(spec_path: str) -> int:
    return spec_path.count("/") + 1 if spec_path else 0


@rule(desc="Find a Kolla image's template libraries", level=LogLevel.DEBUG)
async def template_libraries(request: TemplateLibrariesRequest) -> TemplateLibraries:
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")
    )
    if wrapped.target.has_field(Dependencies):
        explicit = await Get(
            ExplicitlyProvidedDependencies, DependenciesRequest(wrapped.target[Dependencies])
        )
        declared = await Get(Targets, Addresses(explicit.includes))
        chosen = [t.address for t in declared if t.has_field(KollaTemplateLibrarySourcesField)]
        if chosen:
            return TemplateLibraries(tuple(sorted(chosen)))
    in_ancestor_folders = await Get(
        Targets,
        RawSpecs(
            ancestor_globs=(AncestorGlobSpec(request.address.spec_path),),
            unmatched_glob_behavior=GlobMatchErrorBehavior.ignore,
            description_of_origin=f"the template libraries of `{request.address.spec}`",
        ),
    )
    libraries = [t.address for t in in_ancestor_folders if t.has_field(KollaTemplateLibrarySourcesField)]
    nearest = max((_depth(a.spec_path) for a in libraries), default=0)
    return TemplateLibraries(tuple(sorted(a for a in libraries if _depth(a.spec_path) == nearest)))


def rules():
    return collect_rules()
