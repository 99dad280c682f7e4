"""Rule: render one image's Dockerfile from its template, the template libraries and `[kolla]`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.engine.addresses import Address, Addresses
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    Target,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)

from pants_kolla.core.apt_installs import AptInstalls, project_apt_install
from pants_kolla.core.dialects import Dialect
from pants_kolla.core.errors import KollaInputError, display, file_text, where
from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.jinja_render import render_template
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.package_lock import LockedDeb, LockError, lock_scope
from pants_kolla.core.template_context import template_context
from pants_kolla.core.template_library_files import library_templates
from pants_kolla.core.template_overrides import TemplateOverride, chain_overrides
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.target_types import (
    KollaPackageLockField,
    KollaTemplateField,
    KollaTemplateLibrarySourcesField,
    KollaTemplateOverridesField,
)
from pants_kolla.util_rules.image_tree_targets import ImageLink, ImageLinkRequest, checked_ancestry
from pants_kolla.util_rules.package_lock_files import read_package_lock
from pants_kolla.util_rules.render_kolla_dialect import render_kolla_dialect
from pants_kolla.util_rules.template_library_targets import TemplateLibraries, TemplateLibrariesRequest


@dataclass(frozen=True)
class RenderDockerfileRequest:
    address: Address
    # `kolla-lock` renders without the lock: what the template asks for is what it re-locks.
    ignore_lock: bool = False


@dataclass(frozen=True)
class RenderedDockerfile:
    address: Address
    template_path: str
    content: str
    digest: Digest  # a single file named `Dockerfile`
    # What each package install of the template asks for, in order, and the .debs its lock gives them.
    apt_requested: tuple[tuple[str, ...], ...] = ()
    apt_scope: str = ""  # which variant's installs of the folder's lock (core/package_lock.py)
    locked_debs: tuple[LockedDeb, ...] = ()


async def _templates(
    address: Address, template_path: str, library_addresses: TemplateLibraries
) -> dict[str, str]:
    """The image's template and every template of its libraries, by path, read as text."""
    libraries = await Get(Targets, Addresses(library_addresses.addresses))
    library_sources = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(t[KollaTemplateLibrarySourcesField])) for t in libraries
    )
    # Read the template by path rather than by hydrating the field: a missing file then gets our error.
    contents = await MultiGet(
        Get(DigestContents, PathGlobs([template_path])),
        *(Get(DigestContents, Digest, h.snapshot.digest) for h in library_sources),
    )
    if not contents[0]:
        raise KollaInputError(f"{where(address, 'template')}: `{template_path}` does not exist.")
    templates = library_templates(
        (
            (lib.address.spec, fc.path, file_text(fc.content, fc.path, where(lib.address, "sources")))
            for lib, c in zip(libraries, contents[1:])
            for fc in c
        ),
        origin=where(address, "dependencies"),
    )
    templates[template_path] = file_text(contents[0][0].content, template_path, where(address, "template"))
    return templates


@rule(desc="Render a Kolla Dockerfile template")
async def render_dockerfile(request: RenderDockerfileRequest, kolla: KollaSubsystem) -> RenderedDockerfile:
    naming = kolla.naming()
    await checked_ancestry(request.address)
    link, wrapped, library_addresses = await MultiGet(
        Get(ImageLink, ImageLinkRequest(request.address)),
        Get(WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="pants-kolla")),
        Get(TemplateLibraries, TemplateLibrariesRequest(request.address)),
    )
    node, parent = link.node, link.parent
    assert parent is not None, "rootfs targets are not rendered"
    # Names (options included) are in templates' context: a bad one is named before anything renders.
    naming.check_unique([node, parent])
    template_path = wrapped.target[KollaTemplateField].file_path
    overrides = await _template_overrides(wrapped.target, kolla)
    templates = await _templates(request.address, template_path, library_addresses)
    origin = f"`{display(request.address)}`"
    apt = await _apt_installs(wrapped.target, node, request.ignore_lock)
    if node.dialect == Dialect.KOLLA:
        text = await render_kolla_dialect(
            node,
            parent,
            naming,
            kolla,
            kolla.validated_users(),
            template_path,
            templates,
            overrides,
            origin,
            apt,
        )
    else:
        text = _render_pants_kolla(
            node, parent, naming, kolla, template_path, templates, overrides, origin, apt
        )
    try:
        apt.check_complete()
    except LockError as e:
        raise KollaInputError(f"{where(request.address, KollaPackageLockField.alias)}: {e}")
    digest = await Get(Digest, CreateDigest([FileContent("Dockerfile", text.encode())]))
    return RenderedDockerfile(
        address=request.address,
        template_path=template_path,
        content=text,
        digest=digest,
        apt_requested=tuple(apt.requested),
        apt_scope=apt.scope,
        locked_debs=tuple(dict.fromkeys(d for install in apt.used for d in install.debs)),
    )


async def _apt_installs(target: Target, node: ImageNode, ignore_lock: bool) -> AptInstalls:
    """The image's package installs, with its lock unless ignored or absent."""
    lock_file = await read_package_lock(target)
    lock = None if ignore_lock else lock_file.lock
    return AptInstalls(lock, lock_file.path, lock_file.relock_command, lock_scope(node))


def _render_pants_kolla(
    node: ImageNode,
    parent: ImageNode,
    naming: NamingScheme,
    kolla: KollaSubsystem,
    template_path: str,
    templates: dict[str, str],
    overrides: list[TemplateOverride],
    origin: str,
    apt: AptInstalls,
) -> str:
    entry_template, override_templates = chain_overrides(template_path, overrides)
    context = template_context(
        node,
        naming.ref(parent),
        naming,
        base_distro_tag=kolla.pants_kolla_value("base_distro_tag"),
        maintainer=kolla.pants_kolla_value("maintainer"),
        openstack_release=kolla.pants_kolla_value("openstack_release"),
        users=kolla.validated_users(),
    )
    return render_template(
        entry_template,
        {**templates, **override_templates},
        context,
        origin=origin,
        functions={"apt_install": project_apt_install(apt)},
    )


async def _read_overrides(paths: tuple[str, ...], origin: str) -> list[TemplateOverride]:
    """In the listed order (a glob's matches sorted), which is the order they chain in."""
    contents = await MultiGet(Get(DigestContents, PathGlobs([path])) for path in paths)
    overrides: list[TemplateOverride] = []
    for path, matched in zip(paths, contents):
        if not matched:
            raise KollaInputError(f"{origin}: `{path}` does not exist.")
        overrides.extend(
            TemplateOverride(fc.path, file_text(fc.content, fc.path, origin), origin)
            for fc in sorted(matched, key=lambda fc: fc.path)
        )
    return overrides


async def _template_overrides(target: Target, kolla: KollaSubsystem) -> list[TemplateOverride]:
    """`[kolla].template_overrides` first, then the target's own, so that the target's win."""
    own = target[KollaTemplateOverridesField]
    own_paths = tuple(os.path.join(target.address.spec_path, v) for v in own.value or ())
    global_origin = f"`[kolla].template_overrides` (rendering `{display(target.address)}`)"
    return [
        *await _read_overrides(tuple(kolla.template_overrides), global_origin),
        *await _read_overrides(own_paths, where(target.address, KollaTemplateOverridesField.alias)),
    ]


def rules():
    return collect_rules()
