"""What a run removes from an image's dist/ folder (pure rules, then on a real folder)."""

from __future__ import annotations

import json
from pathlib import Path

from pants_kolla.package_run.dist_folder import manifest_files, remove_stale, stale_files


def _manifest(config: str, *layers: str) -> bytes:
    return json.dumps([{"Config": config, "RepoTags": ["kolla/x:t"], "Layers": list(layers)}]).encode()


def test_manifest_files_are_config_and_layers_under_image() -> None:
    assert manifest_files(_manifest("c1.json", "l1/layer.tar")) == {"image/c1.json", "image/l1/layer.tar"}
    assert manifest_files(b"corrupted") == set()
    assert manifest_files(b'[{"Config": "c.json"}]') == set()


def test_files_of_the_manifest_on_disk_stay_one_run_and_others_go() -> None:
    on_disk = [
        "Dockerfile",
        "build.log",
        "image/manifest.json",
        "image/old.json",
        "image/old/layer.tar",
        "image/older.json",
        "image/stray.txt",
    ]
    written = ["Dockerfile", "build.log", "image/manifest.json", "image/new.json"]
    referenced = {"image/old.json", "image/old/layer.tar"}
    assert stale_files(on_disk, written, referenced) == ["image/older.json", "image/stray.txt"]


def test_an_image_that_failed_allowed_leaves_no_older_image_beside_its_log() -> None:
    on_disk = ["build.log", "image/manifest.json", "image/old.json"]
    assert stale_files(on_disk, ["Dockerfile", "build.log"], {"image/old.json"}) == [
        "image/manifest.json",
        "image/old.json",
    ]


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_remove_stale_on_a_folder_keeps_it_loadable_and_drops_empty_folders(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "Dockerfile": b"FROM x",
            "image/manifest.json": _manifest("old.json", "old/layer.tar"),
            "image/old.json": b"{}",
            "image/old/layer.tar": b"",
            "image/older.json": b"{}",
            "image/ancient/layer.tar": b"",
        },
    )
    written = ["Dockerfile", "image/manifest.json", "image/new.json", "image/new/layer.tar"]
    removed = remove_stale(str(tmp_path), written)
    assert removed == ["image/ancient/layer.tar", "image/older.json"]
    assert _files(tmp_path) == ["Dockerfile", "image/manifest.json", "image/old.json", "image/old/layer.tar"]
    assert not (tmp_path / "image/ancient").exists()

    # The next run: the manifest on disk is the new one (as Pants wrote it), the old version goes.
    _tree(
        tmp_path,
        {
            "image/manifest.json": _manifest("new.json", "new/layer.tar"),
            "image/new.json": b"{}",
            "image/new/layer.tar": b"",
        },
    )
    assert remove_stale(str(tmp_path), written) == ["image/old.json", "image/old/layer.tar"]
    assert _files(tmp_path) == ["Dockerfile", "image/manifest.json", "image/new.json", "image/new/layer.tar"]


def test_remove_stale_without_an_image_folder_removes_nothing(tmp_path: Path) -> None:
    _tree(tmp_path, {"build.log": b"log"})
    assert remove_stale(str(tmp_path), ["build.log"]) == []
    assert remove_stale(str(tmp_path / "missing"), ["build.log"]) == []
    assert _files(tmp_path) == ["build.log"]
