"""Pure: point a rendered Dockerfile's `FROM <parent name>` at the parent's image ID.

The build then depends on what the parent IS (its content-addressed ID, already in the cache key as the
parent's archive), not on what it is called: re-tagging a tree (`--kolla-tag=2026.2`) changes no build
input unless a template prints the tag itself. A concurrent build retagging the name in a shared engine
cannot change what the build starts from either.
"""

from __future__ import annotations

import re


class NoParentFrom(Exception):
    pass


def pin_parent(dockerfile: str, parent_ref: str, parent_id: str) -> str:
    pattern = re.compile(
        r"^(\s*FROM\s+(?:--platform=\S+\s+)?)" + re.escape(parent_ref) + r"(\s|$)",
        re.MULTILINE | re.IGNORECASE,
    )
    pinned, count = pattern.subn(lambda m: m.group(1) + parent_id + m.group(2), dockerfile)
    if count == 0:
        raise NoParentFrom(
            f"the rendered Dockerfile never builds FROM its parent image `{parent_ref}` "
            f"(write `FROM {{{{ parent_image }}}}`)"
        )
    return pinned
