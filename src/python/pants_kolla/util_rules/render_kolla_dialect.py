"""The `dialect="kolla"` half of the render rule: kolla-build 23.0.0's context, functions and override
merge for one image (kolla_dialect/), with every input read through the engine."""

from __future__ import annotations

from typing import Any, Sequence

from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get

from pants_kolla.core.apt_installs import AptInstalls
from pants_kolla.core.errors import KollaInputError, file_text
from pants_kolla.core.image_tree import ImageNode
from pants_kolla.core.jinja_render import KollaJinja, render_template
from pants_kolla.core.naming import NamingScheme
from pants_kolla.core.template_overrides import TemplateOverride
from pants_kolla.core.users import DEFAULT_USERS
from pants_kolla.kolla_dialect.kolla_context import kolla_users
from pants_kolla.kolla_dialect.kolla_methods import (
    customizable,
    default_repos_yaml,
    jinja_functions,
    load_repos,
)
from pants_kolla.kolla_dialect.kolla_override_merge import merge_overrides
from pants_kolla.subsystems.kolla import KollaSubsystem


class KollaDialectInputError(KollaInputError):
    pass


def dialect_users(option_users: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kolla's 85 users, with the `[kolla].users` entries that are not pants-kolla's defaults on top
    (a group defaults to Kolla's, else the user's name). pants-kolla's defaults are its own tree's, not
    Kolla 23.0.0's (etcd's uid differs), so they must not replace Kolla's."""
    users = kolla_users()
    for name, ids in option_users.items():
        if DEFAULT_USERS.get(name) != ids:
            users[name] = {"group": users.get(name, {}).get("group", name), **ids}
    return users


async def _repos_yaml_override(path: str) -> str | None:
    if not path:
        return None
    contents = await Get(DigestContents, PathGlobs([path]))
    if not contents:
        raise KollaDialectInputError(f"`[kolla].repos_yaml`: `{path}` does not exist.")
    return file_text(contents[0].content, path, "`[kolla].repos_yaml`")


async def render_kolla_dialect(
    node: ImageNode,
    parent: ImageNode,
    naming: NamingScheme,
    kolla: KollaSubsystem,
    users: dict[str, dict[str, Any]],
    template_path: str,
    templates: dict[str, str],
    overrides: list[TemplateOverride],
    origin: str,
    apt: AptInstalls,
) -> str:
    settings = kolla.kolla_settings()
    repos = load_repos(default_repos_yaml(), await _repos_yaml_override(settings.repos_yaml))
    # A base this repo builds (a debian_rootfs) is what `FROM {{ base_image }}:{{ base_distro_tag }}`
    # must name: the image as the engine holds it.
    built_base = parent.is_rootfs
    context = settings.context(
        node.image_name,
        naming.prefix(node),
        dialect_users(users),
        base_image=naming.repository(parent) if built_base else None,
        base_distro_tag=naming.tag_of(parent) if built_base else None,
    )
    return render_kolla_template(template_path, templates, context, overrides, repos, origin, apt)


def render_kolla_template(
    template_path: str,
    templates: dict[str, str],
    context: dict[str, Any],
    overrides: Sequence[TemplateOverride],
    repos: dict[str, Any],
    origin: str,
    apt: AptInstalls | None = None,
) -> str:
    """Kolla's render, pure: overrides merged into one template extending the image's (a Template
    object), errors in the merged text located in the override file they come from."""
    jinja = KollaJinja(jinja_functions(repos, apt), {"customizable": customizable})
    if not overrides:
        return render_template(template_path, templates, context, origin=origin, kolla=jinja)
    merged = merge_overrides(overrides)
    key = overrides[0].path
    return render_template(
        key,
        {**templates, key: merged.content},
        context,
        origin=origin,
        kolla=KollaJinja(jinja.functions, jinja.filters, parent_template=template_path),
        locate=lambda name, line: merged.locate(line) if name == key else (name, line),
    )
