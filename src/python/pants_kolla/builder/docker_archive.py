"""docker-archive directories: the on-disk form of every built image.

A directory, not a tarball, so that each layer is its own file and identical layers (the shared base) are
stored once in Pants' content store. `normalize` makes a saved image reproducible: sorted tar entries,
mtimes clamped to SOURCE_DATE_EPOCH, no user/group names, no build-host identifiers in the config.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from datetime import datetime, timezone
from typing import IO, Callable

from pants_kolla.builder import layer_tar

# Builds never see the image's name (the tag is not part of what is built, nor of the cache key): the
# archive is written under this placeholder, and the rule names it (util_rules/build_image.py).
UNNAMED = "pants-kolla/unnamed:build"
# Config fields that name the build container or host rather than the image.
HOST_FIELDS = ("container", "container_config", "docker_version", "builder", "moby.buildkit.buildinfo.v1")


def read_manifest(image_dir: str) -> dict:
    with open(os.path.join(image_dir, "manifest.json")) as f:
        return json.load(f)[0]


def image_id(image_dir: str) -> str:
    """The image ID is the sha256 of its config blob."""
    return "sha256:" + os.path.basename(read_manifest(image_dir)["Config"]).split(".")[0]


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def write_image(
    out_dir: str, config: dict, layer_tars: list[str], ref: str, inherited: tuple[str, ...] = ()
) -> str:
    """Write a docker-archive directory from a config and layer tarballs (moved in). `inherited` are
    the diff IDs of leading layers the parent's archive already holds: listed, not written (the rule
    merges the parent's layer files in). Returns the image ID."""
    os.makedirs(out_dir, exist_ok=True)
    diff_ids = list(inherited)
    for tar_path in layer_tars:
        digest = file_sha256(tar_path)
        os.makedirs(os.path.join(out_dir, digest), exist_ok=True)
        shutil.move(tar_path, os.path.join(out_dir, digest, "layer.tar"))
        diff_ids.append(f"sha256:{digest}")
    layer_paths = [f"{diff_id.split(':', 1)[1]}/layer.tar" for diff_id in diff_ids]
    config = {**config, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(blob).hexdigest() + ".json"
    with open(os.path.join(out_dir, config_name), "wb") as f:
        f.write(blob)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump([{"Config": config_name, "RepoTags": [ref], "Layers": layer_paths}], f, sort_keys=True)
    return "sha256:" + config_name[: -len(".json")]


def tar_directory(image_dir: str, dest: str, skip_layers: int = 0) -> None:
    """A `docker load`-able tar of the directory, WITHOUT its RepoTags: loading a parent to build on must
    not name it in the engine; only `package` names images, explicitly. The first `skip_layers` layer
    files are left out (the engine already has them, so `docker load` never opens them) — unless a later
    layer has the same bytes, hence the same file (an empty layer repeats, for one)."""
    with open(dest, "wb") as f:
        write_tar(image_dir, f, skip_layers)


def write_tar(image_dir: str, out: IO[bytes], skip_layers: int = 0) -> None:
    """`tar_directory` into a stream (a pipe to the engine: no copy of the layers on disk)."""
    layers = read_manifest(image_dir)["Layers"]
    skipped = set(layers[:skip_layers]) - set(layers[skip_layers:])
    with tarfile.open(fileobj=out, mode="w|") as tar:
        for root, dirs, files in os.walk(image_dir):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                arcname = os.path.relpath(path, image_dir)
                if arcname in skipped:
                    continue
                if arcname == "manifest.json":
                    manifest = [{**entry, "RepoTags": None} for entry in json.load(open(path))]
                    data = json.dumps(manifest, sort_keys=True).encode()
                    info = tarfile.TarInfo(arcname)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    tar.add(path, arcname=arcname, recursive=False)


def normalize_layer(src: str, dest: str, epoch: int) -> None:
    with tarfile.open(src, "r:") as tar_in:
        layer_tar.write_normalized(layer_tar.entries_from_tar(tar_in), dest, epoch)


def normalize_config(config: dict, epoch: int) -> dict:
    config = {k: v for k, v in config.items() if k not in HOST_FIELDS}
    config["created"] = iso(epoch)
    config["history"] = [{**h, "created": iso(epoch)} for h in config.get("history", [])]
    inner = dict(config.get("config") or {})
    for build_host_field in ("Hostname", "Image"):  # the build container and the last step's ID
        inner.pop(build_host_field, None)
    config["config"] = inner
    return config


def diff_ids(image_dir: str) -> list[str]:
    manifest = read_manifest(image_dir)
    with open(os.path.join(image_dir, manifest["Config"])) as f:
        return list(json.load(f)["rootfs"]["diff_ids"])


def inherited_prefix(layers: list[str], parent_layers: list[str]) -> tuple[str, ...]:
    """The leading layers an image shares with its parent, unchanged (same diff ID = same bytes)."""
    shared = []
    for layer, parent_layer in zip(layers, parent_layers):
        if layer != parent_layer:
            break
        shared.append(layer)
    return tuple(shared)


def normalize_saved_image(
    saved_dir: str, out_dir: str, ref: str, epoch: int, work_dir: str, parent_dir: str | None = None
) -> str:
    """Rewrite a `docker save`/`buildah push` output directory into a reproducible one."""
    manifest = read_manifest(saved_dir)
    with open(os.path.join(saved_dir, manifest["Config"])) as f:
        config = json.load(f)

    def write_layer(index: int, dest: str) -> None:
        normalize_layer(os.path.join(saved_dir, manifest["Layers"][index]), dest, epoch)

    return normalize_image(config, write_layer, out_dir, ref, epoch, work_dir, parent_dir)


def normalize_image(
    config: dict,
    write_layer: Callable[[int, str], None],
    out_dir: str,
    ref: str,
    epoch: int,
    work_dir: str,
    parent_dir: str | None = None,
) -> str:
    """Write the reproducible archive of an image given its config and `write_layer(index, dest)`, which
    writes its index-th layer normalized. Layers the parent already has (already normalized when it was
    built) are neither read nor written."""
    layers = config["rootfs"]["diff_ids"]
    inherited = inherited_prefix(layers, diff_ids(parent_dir) if parent_dir else [])
    layer_tars = []
    for index in range(len(inherited), len(layers)):
        dest = os.path.join(work_dir, f"layer-{index}.tar")
        write_layer(index, dest)
        layer_tars.append(dest)
    return write_image(out_dir, normalize_config(config, epoch), layer_tars, ref, inherited)


def extract_tar(tar_path: str, out_dir: str) -> None:
    """Extract an image archive; `docker save` links a repeated layer to its first copy."""
    with tarfile.open(tar_path, "r:") as tar:
        members = [
            m
            for m in tar.getmembers()
            if (m.isfile() or m.isdir() or _is_inner_link(m)) and not _escapes(m.name)
        ]
        tar.extractall(out_dir, members=members)


def _escapes(name: str) -> bool:
    return name.startswith("/") or ".." in name.split("/")


def _is_inner_link(member: tarfile.TarInfo) -> bool:
    if not member.issym():
        return False
    target = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
    return not _escapes(target)
