"""`file-index`: the regular files an image's own layers leave in its filesystem, with their sha256 and
size, for `kolla-size`'s suggestions of files to move into a parent. A later own layer overrides an
earlier one: what it deletes (an overlay whiteout, an opaque folder) or replaces by a non-file is gone."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from typing import IO

from pants_kolla.builder.image_files import member_name

FileInfo = tuple[str, int]  # sha256, size
_CHUNK = 1 << 20


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _layer_changes(layer: str) -> tuple[dict[str, FileInfo], set[str], set[str]]:
    """A layer's regular files, the paths it deletes or replaces by a non-file, and its opaque folders."""
    added: dict[str, FileInfo] = {}
    removed: set[str] = set()
    opaque: set[str] = set()
    with tarfile.open(layer) as tar:
        for member in tar:
            name = member_name(member.name)
            folder, _, base = name.rpartition("/")
            if base == ".wh..wh..opq":
                opaque.add(folder)
            elif base.startswith(".wh."):
                removed.add(f"{folder}/{base[4:]}".lstrip("/"))
            elif member.isfile():
                extracted = tar.extractfile(member)
                added[name] = (_sha256(extracted) if extracted else hashlib.sha256().hexdigest(), member.size)
            elif member.islnk() and member_name(member.linkname) in added:
                added[name] = added[member_name(member.linkname)]
            elif not member.isdir():  # a symlink or a device in place of what was there
                removed.add(name)
    return added, removed, opaque


def _under(path: str, folders: set[str]) -> bool:
    return any(path == f or path.startswith(f + "/") or f == "" for f in folders)


def own_files(image_dir: str, inherited_layers: int) -> dict[str, FileInfo]:
    with open(os.path.join(image_dir, "manifest.json")) as f:
        layers = json.load(f)[0]["Layers"][inherited_layers:]
    files: dict[str, FileInfo] = {}
    for layer in layers:
        added, removed, opaque = _layer_changes(os.path.join(image_dir, layer))
        gone = removed | opaque
        files = {p: info for p, info in files.items() if not _under(p, gone)}
        files.update(added)
    return files


def cmd_file_index(image_dir: str, inherited_layers: int, out: str) -> int:
    files = own_files(image_dir, inherited_layers)
    with open(out, "w") as f:
        json.dump(sorted([path, digest, size] for path, (digest, size) in files.items()), f)
    return 0
