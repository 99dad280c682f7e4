"""Keeping an image's dist/ folder exact without letting Pants clear it.

Pants' `package` deletes every artifact path before it writes the run's files. With a folder as the
path, two runs at once race: one deletes the folder the other is filling ("Error opening file
.../Dockerfile for writing: No such file or directory"). So packages name no path, Pants overwrites
files in place (same names, same bytes when both runs built the same image), and the files an earlier
run left behind are removed here instead.

What is removed is chosen so that dist/ is a loadable image at every moment, even when this run ends
up writing nothing (another image fails the goal, Ctrl-C): the files the image manifest on disk names
stay until a run has replaced that manifest, so an earlier version lingers for one run at most.
"""

from __future__ import annotations

import json
import os
from typing import Iterable

IMAGE_DIR = "image"
MANIFEST = f"{IMAGE_DIR}/manifest.json"


def manifest_files(manifest_bytes: bytes) -> set[str]:
    """The paths (relative to the image folder's parent) a docker-archive manifest refers to; none
    when it is not a readable manifest, since then nothing on disk depends on them."""
    try:
        entries = json.loads(manifest_bytes)
        names = [name for entry in entries for name in (entry["Config"], *entry["Layers"])]
    except (ValueError, TypeError, KeyError):
        return set()
    return {f"{IMAGE_DIR}/{name}" for name in names if isinstance(name, str)}


def stale_files(on_disk: Iterable[str], written: Iterable[str], still_referenced: Iterable[str]) -> list[str]:
    """Files under image/ that neither this run writes nor the manifest on disk names. Files outside
    image/ (Dockerfile, build.log) have fixed names: every run overwrites them."""
    keep = set(written)
    # Without an image this run (it failed and was allowed to), an older image beside its log would mislead.
    if any(path.startswith(f"{IMAGE_DIR}/") for path in keep):
        keep |= {*still_referenced, MANIFEST}
    return sorted(p for p in on_disk if p.startswith(f"{IMAGE_DIR}/") and p not in keep)


def remove_stale(folder: str, written: Iterable[str]) -> list[str]:
    """Remove what `stale_files` picks from `folder` (a dist/ image folder) and the folders that are
    left empty. Tolerates a concurrent run removing the same files. Returns what was removed."""
    image_dir = os.path.join(folder, IMAGE_DIR)
    if not os.path.isdir(image_dir):
        return []
    on_disk: list[str] = []
    for root, _, files in os.walk(image_dir):
        on_disk.extend(os.path.relpath(os.path.join(root, name), folder) for name in files)
    try:
        with open(os.path.join(folder, MANIFEST), "rb") as f:
            referenced = manifest_files(f.read())
    except OSError:
        referenced = set()
    written = set(written)
    removed = stale_files(on_disk, written, referenced)
    for path in removed:
        try:
            os.unlink(os.path.join(folder, path))
        except FileNotFoundError:
            pass  # A concurrent run removed it first.
    # Folders left empty go too, unless this run writes into them: a concurrent run may be about to.
    kept_dirs = {parent for path in written for parent in _parents(path)}
    for root, _, _ in os.walk(image_dir, topdown=False):
        if os.path.relpath(root, folder) not in kept_dirs:
            try:
                os.rmdir(root)
            except OSError:
                pass  # Not empty: something in it is kept.
    return removed


def _parents(path: str) -> list[str]:
    parents = []
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        parents.append(path)
    return parents
