"""What `pants tailor` writes for an unowned Dockerfile.j2, guessed from the template: pure.

The parent comes from a Kolla-style FROM line (`FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}`);
`FROM {{ parent_image }}` says nothing, so the parent is then left as a TODO that fails validation with
a message saying what to write. A template that reads `install_type` is built per type, which tailor
cannot write as a plain value, so its install type is a TODO too; anything else is guessed `infra`.
"""

from __future__ import annotations

import os
import re

from pants_kolla import install_types

TAILOR_TODO = "TODO(pants tailor)"
PARENT_TODO = f"{TAILOR_TODO}: address of the parent image"
# No quotes: tailor writes values between double quotes without escaping them.
INSTALL_TYPE_TODO = f"{TAILOR_TODO}: infra, or parametrize(binary, source) without this text"

_FROM = re.compile(r"^\s*FROM\s+(.+?)\s*$", re.MULTILINE)
_TAG = re.compile(r":\s*\{\{[^}]*\}\}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_USES_INSTALL_TYPE = re.compile(r"\binstall_type\b")


def parent_name(template: str) -> str | None:
    """`openstack-base` from `FROM {{ namespace }}/{{ image_prefix }}openstack-base:{{ tag }}`."""
    match = _FROM.search(template)
    if not match:
        return None
    ref = _TAG.sub("", match.group(1))
    name = re.split(r"\}\}|/", ref)[-1].strip()
    return name if _NAME.match(name) else None


def guessed_fields(template_path: str, template: str) -> dict[str, str]:
    images_dir = os.path.dirname(os.path.dirname(template_path))
    name = parent_name(template)
    return {
        "install_type": INSTALL_TYPE_TODO if _USES_INSTALL_TYPE.search(template) else install_types.INFRA,
        "parent": os.path.join(images_dir, name) if name else PARENT_TODO,
    }
