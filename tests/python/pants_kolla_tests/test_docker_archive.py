"""The builder's archive logic (builder/docker_archive.py), without an engine: normalization is
reproducible, and a child's archive lists its parent's layers without writing them again."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from pants_kolla.builder import docker_archive
from pants_kolla_tests.tar_files import file_bytes


def layer(path: Path, files: dict[str, bytes], mtime: int = 2_000_000_000) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():  # deliberately not sorted
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname = len(data), mtime, "builder"
            tar.addfile(info, io.BytesIO(data))
    return path


def saved_image(folder: Path, layers: list[Path], diff_ids: list[str]) -> Path:
    """What `docker save` leaves: a manifest, a config naming the layers' diff IDs, the layer files."""
    folder.mkdir()
    names = []
    for index, path in enumerate(layers):
        (folder / f"l{index}").mkdir()
        path.rename(folder / f"l{index}/layer.tar")
        names.append(f"l{index}/layer.tar")
    config = {
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "container": "build-host-abc",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Hostname": "abc"},
        "history": [{}],
    }
    (folder / "c.json").write_text(json.dumps(config))
    (folder / "manifest.json").write_text(json.dumps([{"Config": "c.json", "Layers": names}]))
    return folder


def test_normalized_layers_are_sorted_clamped_and_nameless(tmp_path) -> None:
    src = layer(tmp_path / "in.tar", {"b": b"2", "a": b"1", "var/log/apt/history.log": b"x"})
    docker_archive.normalize_layer(str(src), str(tmp_path / "out.tar"), epoch=100)
    with tarfile.open(tmp_path / "out.tar") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a", "b"]
    assert {(m.mtime, m.uname) for m in members} == {(100, "")}


def test_child_archive_inherits_parent_layers_without_writing_them(tmp_path) -> None:
    parent_out = tmp_path / "parent"
    base = layer(tmp_path / "base.tar", {"etc/os": b"debian"}, mtime=1)
    parent_id = docker_archive.write_image(str(parent_out), {"config": {}}, [str(base)], "p:1")
    parent_layers = docker_archive.diff_ids(str(parent_out))

    own = layer(tmp_path / "own.tar", {"srv/app": b"app"})
    parent_layer_copy = tmp_path / "copy.tar"
    parent_layer_copy.write_bytes((parent_out / parent_layers[0].split(":")[1] / "layer.tar").read_bytes())
    saved = saved_image(
        tmp_path / "saved", [parent_layer_copy, own], [parent_layers[0], "sha256:unnormalized"]
    )
    child_out = tmp_path / "child"
    child_id = docker_archive.normalize_saved_image(
        str(saved), str(child_out), "c:1", 100, str(tmp_path), str(parent_out)
    )

    manifest = docker_archive.read_manifest(str(child_out))
    child_layers = docker_archive.diff_ids(str(child_out))
    assert child_layers[0] == parent_layers[0] and len(child_layers) == 2
    written = sorted(str(p.relative_to(child_out)) for p in child_out.rglob("layer.tar"))
    assert written == [manifest["Layers"][1]]  # only the child's own layer
    assert child_id != parent_id and docker_archive.image_id(str(child_out)) == child_id
    config = json.loads((child_out / manifest["Config"]).read_text())
    assert "container" not in config and "Hostname" not in config["config"]


def test_a_changed_parent_layer_is_not_inherited() -> None:
    assert docker_archive.inherited_prefix(["a", "b", "c"], ["a", "b"]) == ("a", "b")
    assert docker_archive.inherited_prefix(["a", "x", "c"], ["a", "b"]) == ("a",)
    assert docker_archive.inherited_prefix(["a"], []) == ()


def test_a_load_tar_leaves_out_inherited_layers_but_keeps_a_repeated_one(tmp_path) -> None:
    empty = layer(tmp_path / "empty.tar", {})
    base = layer(tmp_path / "base.tar", {"etc/os": b"debian"})
    repeated = tmp_path / "empty-again.tar"
    repeated.write_bytes(empty.read_bytes())
    own = layer(tmp_path / "own.tar", {"srv/app": b"app"})
    out = tmp_path / "image"
    docker_archive.write_image(
        str(out), {"config": {}}, [str(base), str(empty), str(own), str(repeated)], "i:1"
    )
    layers = docker_archive.read_manifest(str(out))["Layers"]
    docker_archive.tar_directory(str(out), str(tmp_path / "load.tar"), skip_layers=2)
    with tarfile.open(tmp_path / "load.tar") as tar:
        names = set(tar.getnames())
    assert layers[0] not in names  # inherited only: left out
    assert {layers[1], layers[2]} <= names  # the empty layer is also the 4th: kept
    assert json.loads(tar_member(tmp_path / "load.tar", "manifest.json"))[0]["RepoTags"] is None


def tar_member(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        return file_bytes(tar, name)
