"""What `pants tailor` writes for an unowned Dockerfile.j2, guessed from the template: pure.

The parent comes from a Kolla-style FROM line (`FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}`):
the folder of that image name in the image's own tree (Kolla nests them: keystone/keystone-base), the
nearest one when the tree has several; an image never gets a parent from another tree. `FROM {{ parent_image }}` says nothing, so the parent is then left
as a TODO that fails validation with a message saying what to write. Kolla's base (`FROM
{{ base_image }}:...`) gets a `debian_rootfs` of the suite kolla-build uses. A template that reads
`install_type` is built per type, which tailor cannot write as a plain value, so its install type is a
TODO too; anything else is guessed `infra`. A template using names only kolla-build's context has is
`dialect="kolla"`.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

import jinja2
from jinja2 import nodes

from pants_kolla.core.dialects import Dialect
from pants_kolla.core.install_types import InstallType

TAILOR_TODO = "TODO(pants tailor)"
PARENT_TODO = f"{TAILOR_TODO}: address of the parent image"
# No quotes: tailor writes values between double quotes without escaping them.
INSTALL_TYPE_TODO = f"{TAILOR_TODO}: infra, or parametrize(binary, source) without this text"
KOLLA_ROOTFS = {"name": "rootfs", "suite": "trixie", "image_name": "debian-trixie-rootfs"}
CONTEXT_FILES = "context"

_FROM = re.compile(r"^\s*FROM\s+(.+?)\s*$", re.MULTILINE)
_TAG = re.compile(r":\s*\{\{[^}]*\}\}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_USES_INSTALL_TYPE = re.compile(r"\binstall_type\b")
_BASE_IMAGE_FROM = re.compile(r"^\{\{\s*base_image\s*\}\}")
# In kolla-build's context and not in pants-kolla's; Kolla's macros.j2 names its own `kolla_*`.
KOLLA_ONLY_NAMES = frozenset(
    {
        "base_package_type",
        "kolla_version",
        "supported_distro_name",
        "handle_repos",
        "cleanup_repos",
        "debian_package_install",
        "distro_package_manager",
        "openstack_branch",
        "openstack_branch_slashed",
        "debian_arch",
        "base_arch",
        "base_image",
        "rpm_setup",
        "patches_path",
        "use_dumb_init",
        "docker_healthchecks",
        "clean_package_cache",
        "repos_yaml",
        "openstack_release_codename",
        "raise_error",
    }
)
_COPY = re.compile(r"^\s*(?:COPY|ADD)\s+((?:[^\n]*\\\n)*[^\n]*)", re.MULTILINE | re.IGNORECASE)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _from_ref(template: str) -> str | None:
    match = _FROM.search(template)
    return match.group(1) if match else None


def parent_name(template: str) -> str | None:
    """`openstack-base` from `FROM {{ namespace }}/{{ image_prefix }}openstack-base:{{ tag }}`."""
    ref = _from_ref(template)
    if ref is None:
        return None
    name = re.split(r"\}\}|/", _TAG.sub("", ref))[-1].strip()
    return name if _NAME.match(name) else None


def is_kolla_base(template: str) -> bool:
    return bool(_BASE_IMAGE_FROM.match(_from_ref(template) or ""))


def is_kolla_dialect(template: str) -> bool:
    try:
        tree = jinja2.Environment().parse(template)
    except jinja2.TemplateSyntaxError:
        return False
    return any(n.name in KOLLA_ONLY_NAMES for n in tree.find_all(nodes.Name)) or any(
        g.attr.startswith("kolla_") for g in tree.find_all(nodes.Getattr)
    )


def image_folders(template_paths: Iterable[str]) -> dict[str, list[str]]:
    """Image name (the folder's name, as Kolla names images) -> the folders that hold such a template."""
    folders: dict[str, list[str]] = {}
    for path in template_paths:
        folder = os.path.dirname(path)
        folders.setdefault(os.path.basename(folder), []).append(folder)
    return folders


def _shared_depth(folder: str, candidate: str) -> int:
    """How many leading folders two paths share: 0 for paths in different trees."""
    common = os.path.commonpath([folder, candidate]) if folder and candidate else ""
    return len(common.split("/")) if common else 0


def _nearest_in_tree(folder: str, candidates: list[str]) -> str | None:
    """The candidate nearest to `folder` within its own tree (one that shares a top folder with it), so
    that `kolla/aodh/aodh-base` finds `kolla/openstack-base`, never `images/openstack-base`."""
    in_tree = [c for c in sorted(candidates) if _shared_depth(folder, c) > 0]
    return max(in_tree, key=lambda c: _shared_depth(folder, c)) if in_tree else None


def copied_sources(template: str) -> list[str]:
    """Context paths of COPY/ADD lines (Jinja expressions become `*`); not flags, URLs or the dest."""
    sources = []
    for match in _COPY.finditer(template):
        words = _JINJA.sub("*", match.group(1).replace("\\\n", " ")).split()
        words = [w for w in words if not w.startswith("--")]
        sources += [w for w in words[:-1] if "://" not in w and not w.startswith(("[", "/"))]
    return sources


def guessed_fields(
    template_path: str, template: str, folders: Mapping[str, list[str]] | None = None
) -> dict[str, str]:
    folder = os.path.dirname(template_path)
    name = parent_name(template)
    if is_kolla_base(template):
        parent = f":{KOLLA_ROOTFS['name']}"
    else:
        nearest = _nearest_in_tree(folder, folders.get(name, [])) if name and folders else None
        parent = nearest or (os.path.join(os.path.dirname(folder), name) if name else PARENT_TODO)
    fields = {
        "install_type": INSTALL_TYPE_TODO if _USES_INSTALL_TYPE.search(template) else InstallType.INFRA.value,
        "parent": parent,
    }
    if is_kolla_dialect(template):
        fields["dialect"] = Dialect.KOLLA.value
    return fields
