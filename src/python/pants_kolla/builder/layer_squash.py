"""`squash`: an image's own layers merged into one on top of its parent's unchanged layers (kolla-build's
`--squash`, but keeping what the image shares with its parent).

Applied to the normalized archive the build wrote: the own layers are replayed in order as overlay
filesystems stack them (a later entry replaces an earlier one of the same path, a whiteout removes what
earlier own layers put there, an opaque marker empties its folder), so files a later step removed are
gone. Whiteouts and opaque markers stay in the merged layer: they still hide the parent's files.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from contextlib import ExitStack

from pants_kolla.builder import docker_archive, layer_tar
from pants_kolla.builder.layer_tar import OPAQUE_WHITEOUT, WHITEOUT_PREFIX, Entry

SQUASH_COMMENT = "pants-kolla: the image's own steps, squashed into this layer"


def merge_entries(layers: list[list[Entry]]) -> list[Entry]:
    """The entries of one layer equivalent to `layers` stacked in order (bottom first)."""
    merged: dict[str, Entry] = {}
    for entries in layers:
        named = [(_path(e), e) for e in entries]
        # A layer's whiteouts and opaque markers act on the layers below it only, whatever their order.
        for path, _ in named:
            folder, base = os.path.split(path)
            if base == OPAQUE_WHITEOUT:
                _remove_under(merged, folder)
            elif base.startswith(WHITEOUT_PREFIX):
                hidden = os.path.join(folder, base[len(WHITEOUT_PREFIX) :])
                merged.pop(hidden, None)
                _remove_under(merged, hidden)  # a folder of the parent's, filled by an earlier own layer
        for path, entry in named:
            folder, base = os.path.split(path)
            if not base.startswith(WHITEOUT_PREFIX):
                # Present again: an earlier own layer's whiteout of it would hide it.
                merged.pop(os.path.join(folder, WHITEOUT_PREFIX + base), None)
                previous = merged.get(path)
                if previous and previous.type == tarfile.DIRTYPE and entry.type != tarfile.DIRTYPE:
                    _remove_under(merged, path)
            merged[path] = entry
    return list(merged.values())


def _path(entry: Entry) -> str:
    return (entry.name[2:] if entry.name.startswith("./") else entry.name).rstrip("/")


def _remove_under(merged: dict[str, Entry], folder: str) -> None:
    """Forget what earlier layers put inside `folder` (the folder's own entry stays)."""
    prefix = folder + "/" if folder else ""
    for path in [p for p in merged if p.startswith(prefix)]:
        del merged[path]


def squash_archive(image_dir: str, parent_dir: str, epoch: int, work_dir: str, ref: str) -> str:
    """Rewrite the normalized archive `image_dir` with its own layers squashed; return the image ID."""
    manifest = docker_archive.read_manifest(image_dir)
    with open(os.path.join(image_dir, manifest["Config"])) as f:
        config = json.load(f)
    layers = config["rootfs"]["diff_ids"]
    inherited = docker_archive.inherited_prefix(
        layers, docker_archive.diff_ids(parent_dir) if parent_dir else []
    )
    own = manifest["Layers"][len(inherited) :]
    if len(own) < 2:
        return docker_archive.image_id(image_dir)
    merged_tar = os.path.join(work_dir, "squashed-layer.tar")
    with ExitStack() as stack:
        tars = [stack.enter_context(tarfile.open(os.path.join(image_dir, path), "r:")) for path in own]
        entries = merge_entries([list(layer_tar.entries_from_tar(tar)) for tar in tars])
        layer_tar.write_normalized(iter(entries), merged_tar, epoch)
    squashed = os.path.join(work_dir, "squashed-image")
    image_id = docker_archive.write_image(
        squashed, squash_history(config, len(own)), [merged_tar], ref, inherited
    )
    shutil.rmtree(image_dir)
    shutil.move(squashed, image_dir)
    return image_id


def squash_history(config: dict, own_layers: int) -> dict:
    """The own steps stay in the history (kolla-size and `docker history` show them); all but the last
    that made a layer become empty, the last one carries the merged layer."""
    history = [dict(h) for h in config.get("history", [])]
    layer_steps = [i for i, h in enumerate(history) if not h.get("empty_layer")][-own_layers:]
    for index in layer_steps[:-1]:
        history[index]["empty_layer"] = True
    if layer_steps:
        history[layer_steps[-1]]["comment"] = SQUASH_COMMENT
    return {**config, "history": history}
