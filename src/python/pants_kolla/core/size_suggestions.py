"""Where to move shared content, pure: for each parent, the Debian packages (or the files: path and
content digest) that two or more of its children add on their own. Moving them into the parent stores
them once (unique bytes saved over the tree) but adds them to the children that do not need them (their
individual size grows): the seed's conflict between overall and individual size, as two numbers per
suggestion."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, TypeVar

from pants_kolla.core.size_report import mib

Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True)
class ImagePackages:
    name: str
    parent: str
    packages: Mapping[str, int]  # package -> installed bytes


@dataclass(frozen=True)
class ImageFiles:
    name: str
    parent: str
    files: Mapping[tuple[str, str], int]  # (path, sha256) -> bytes, of the image's own layers only


def _children(parents: Mapping[str, str]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for name, parent in sorted(parents.items()):
        if parent in parents:
            children.setdefault(parent, []).append(name)
    return {p: kids for p, kids in children.items() if len(kids) >= 2}


def _shared(
    parent: str, own: Mapping[str, Mapping[Item, int]], kind: str, label: Callable[[Item], str]
) -> dict | None:
    """The suggestion for one parent, from what each child adds on its own (item -> bytes)."""
    counts = Counter(item for items in own.values() for item in items)
    shared = {item: n for item, n in counts.items() if n >= 2}
    if not shared:
        return None
    size = {item: max(items.get(item, 0) for items in own.values()) for item in shared}
    saves = sum((n - 1) * size[item] for item, n in shared.items())
    adds = sum((len(own) - n) * size[item] for item, n in shared.items())
    lacking = sum(1 for items in own.values() if not set(shared) <= set(items))
    biggest = [label(item) for item in sorted(shared, key=lambda i: (-size[i] * shared[i], str(i)))[:8]]
    return {
        "kind": kind,
        "parent": parent,
        kind: sorted(label(item) for item in shared),
        "saves": saves,
        "adds": adds,
        "children_lacking": lacking,
        "text": (
            f"moving {len(shared)} {kind} into {parent} saves {mib(saves)} MiB of unique bytes over the "
            f"tree and adds {mib(adds)} MiB to the {lacking} of its {len(own)} children that do not need "
            f"them all (biggest: {', '.join(biggest)})"
        ),
    }


def suggestions(images: list[ImagePackages]) -> list[dict]:
    by_name = {i.name: i for i in images}
    found = []
    for parent, kids in _children({i.name: i.parent for i in images}).items():
        inherited = by_name[parent].packages
        own = {k: {p: s for p, s in by_name[k].packages.items() if p not in inherited} for k in kids}
        found.append(_shared(parent, own, "packages", str))
    return sorted(filter(None, found), key=lambda s: -s["saves"])


def file_suggestions(images: list[ImageFiles]) -> list[dict]:
    """Files are compared by path and content: the same bytes at the same path in two children's own
    layers. A file a shared package installs is found here as well as in `suggestions`."""
    by_name = {i.name: i for i in images}
    found = []
    for parent, kids in _children({i.name: i.parent for i in images}).items():
        own = {k: by_name[k].files for k in kids}
        found.append(_shared(parent, own, "files", lambda item: item[0]))
    return sorted(filter(None, found), key=lambda s: -s["saves"])
