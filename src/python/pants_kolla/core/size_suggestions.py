"""Where to move shared content, pure: for each parent, the Debian packages that two or more of its
children install on their own. Moving them into the parent stores them once (unique bytes saved over
the tree) but adds them to the children that do not need them (their individual size grows): the seed's
conflict between overall and individual size, as two numbers per suggestion."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from pants_kolla.core.size_report import mib


@dataclass(frozen=True)
class ImagePackages:
    name: str
    parent: str
    packages: Mapping[str, int]  # package -> installed bytes


def suggestions(images: list[ImagePackages]) -> list[dict]:
    by_name = {i.name: i for i in images}
    children: dict[str, list[ImagePackages]] = {}
    for image in images:
        if image.parent in by_name:
            children.setdefault(image.parent, []).append(image)
    found = []
    for parent, kids in sorted(children.items()):
        if len(kids) < 2:
            continue
        inherited = by_name[parent].packages
        own = {k.name: {p: s for p, s in k.packages.items() if p not in inherited} for k in kids}
        counts = Counter(p for packages in own.values() for p in packages)
        shared = {p: n for p, n in counts.items() if n >= 2}
        if not shared:
            continue
        size = {p: max(own[k.name].get(p, 0) for k in kids) for p in shared}
        saves = sum((n - 1) * size[p] for p, n in shared.items())
        adds = sum((len(kids) - n) * size[p] for p, n in shared.items())
        lacking = sum(1 for k in kids if not set(shared) <= set(own[k.name]))
        biggest = sorted(shared, key=lambda p: -size[p] * shared[p])[:8]
        found.append(
            {
                "parent": parent,
                "packages": sorted(shared),
                "saves": saves,
                "adds": adds,
                "children_lacking": lacking,
                "text": (
                    f"moving {len(shared)} packages into {parent} saves {mib(saves)} MiB of unique bytes over the "
                    f"tree and adds {mib(adds)} MiB to the {lacking} of its {len(kids)} children that do not need "
                    f"them all (biggest: {', '.join(biggest)})"
                ),
            }
        )
    return sorted(found, key=lambda s: -s["saves"])
