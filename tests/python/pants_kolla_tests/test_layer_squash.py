"""`squash` without an engine (builder/layer_squash.py): own layers replayed as overlay filesystems stack
them, the parent's layers kept as they are, the steps kept in the history."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from pants_kolla.builder import docker_archive, layer_squash
from pants_kolla.builder.layer_tar import Entry
from pants_kolla_tests.tar_files import file_bytes, write_layer_tar

EPOCH = 1_700_000_000


def entry(name: str, kind: bytes = tarfile.REGTYPE) -> Entry:
    return Entry(name=name, type=kind, mode=0o644, uid=0, gid=0, size=0, mtime=0)


def names(entries: list[Entry]) -> list[str]:
    return sorted(e.name for e in entries)


def test_later_layers_win_and_whiteouts_remove_what_earlier_own_layers_added() -> None:
    first = [
        entry("etc", tarfile.DIRTYPE),
        entry("etc/a"),
        entry("big"),
        entry("cache", tarfile.DIRTYPE),
        entry("cache/x"),
    ]
    second = [entry(".wh.big"), entry("etc/a"), entry(".wh.cache"), entry(".wh.from-parent")]
    merged = layer_squash.merge_entries([first, second])
    # big and cache/ are gone; the whiteouts stay (they hide the parent's files, if any).
    assert names(merged) == [".wh.big", ".wh.cache", ".wh.from-parent", "etc", "etc/a"]
    assert next(e for e in merged if e.name == "etc/a") is second[1]


def test_a_file_created_again_drops_its_whiteout_and_opaque_folders_drop_earlier_contents() -> None:
    first = [entry(".wh.motd"), entry("srv", tarfile.DIRTYPE), entry("srv/old")]
    # Whatever the order inside a layer, its markers act on the layers below only.
    second = [entry("srv/-new"), entry("srv/.wh..wh..opq"), entry("motd")]
    merged = layer_squash.merge_entries([first, second])
    assert names(merged) == ["motd", "srv", "srv/-new", "srv/.wh..wh..opq"]


def test_a_folder_replaced_by_a_file_loses_its_contents() -> None:
    first = [entry("opt", tarfile.DIRTYPE), entry("opt/tool")]
    second = [entry("opt", tarfile.SYMTYPE)]
    assert names(layer_squash.merge_entries([first, second])) == ["opt"]


def archive(folder: Path, layers: list[dict[str, bytes]], history: list[dict], inherited=()) -> Path:
    tars = [
        write_layer_tar(folder.parent / f"{folder.name}-{i}.tar", files) for i, files in enumerate(layers)
    ]
    config = {"config": {}, "history": history, "rootfs": {"type": "layers", "diff_ids": []}}
    docker_archive.write_image(str(folder), config, tars, "t/unnamed:build", tuple(inherited))
    return folder


def test_an_archive_keeps_its_parents_layers_and_gets_one_own_layer(tmp_path: Path) -> None:
    parent = archive(tmp_path / "parent", [{"etc/os": b"debian\n"}], [{"created_by": "rootfs"}])
    parent_layers = docker_archive.diff_ids(str(parent))
    steps: list[dict] = [{"created_by": "rootfs"}, {"created_by": "RUN big"}]
    steps += [{"created_by": "ENV", "empty_layer": True}]
    steps += [{"created_by": "RUN rm big"}, {"created_by": "RUN keep"}]
    image = archive(
        tmp_path / "image",
        [{"big": b"x" * 100_000}, {".wh.big": b""}, {"keep": b"kept\n"}],
        steps,
        inherited=parent_layers,
    )
    work = tmp_path / "work"
    work.mkdir()
    image_id = layer_squash.squash_archive(str(image), str(parent), EPOCH, str(work), "t/unnamed:build")

    assert image_id == docker_archive.image_id(str(image))
    layers = docker_archive.diff_ids(str(image))
    assert layers[:1] == parent_layers and len(layers) == 2
    manifest = docker_archive.read_manifest(str(image))
    with tarfile.open(image / manifest["Layers"][1]) as tar:
        assert sorted(tar.getnames()) == [".wh.big", "keep"]
        assert file_bytes(tar, "keep") == b"kept\n"
    config = json.loads((image / manifest["Config"]).read_text())
    made_layers = [h for h in config["history"] if not h.get("empty_layer")]
    assert [h["created_by"] for h in made_layers] == ["rootfs", "RUN keep"]
    assert made_layers[-1]["comment"] == layer_squash.SQUASH_COMMENT
    assert [h["created_by"] for h in config["history"]] == [s["created_by"] for s in steps]


def test_an_image_with_one_own_layer_is_left_as_it_is(tmp_path: Path) -> None:
    image = archive(tmp_path / "image", [{"a": b"1"}], [{"created_by": "RUN a"}])
    before = docker_archive.image_id(str(image))
    work = tmp_path / "work"
    work.mkdir()
    assert layer_squash.squash_archive(str(image), "", EPOCH, str(work), "t/unnamed:build") == before
