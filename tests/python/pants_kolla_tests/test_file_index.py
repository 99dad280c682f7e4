"""builder/file_index.py: the files an image's own layers leave, as overlay semantics have it (a later
layer's whiteouts, opaque folders and non-files replace what earlier own layers added)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from pants_kolla.builder.file_index import cmd_file_index, own_files
from pants_kolla_tests.tar_files import write_layer_tar


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_links(layer: Path) -> None:
    """A hard link to b/new and a symlink in place of a/y, appended to the layer."""
    with tarfile.open(layer, "a") as tar:
        hard = tarfile.TarInfo("c")
        hard.type, hard.linkname = tarfile.LNKTYPE, "b/new"
        symlink = tarfile.TarInfo("a/y")
        symlink.type, symlink.linkname = tarfile.SYMTYPE, "x"
        tar.addfile(hard)
        tar.addfile(symlink, io.BytesIO(b""))


def test_later_own_layers_decide_what_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "image"
    for name in ("parent", "one", "two"):
        (folder / name).mkdir(parents=True)
    write_layer_tar(folder / "parent/layer.tar", {"p": b"inherited"})
    write_layer_tar(folder / "one/layer.tar", {"a/x": b"1", "a/y": b"2", "b/z": b"3", "d/keep": b"4"})
    write_layer_tar(folder / "two/layer.tar", {"a/.wh.x": b"", "b/.wh..wh..opq": b"", "b/new": b"5"})
    add_links(folder / "two/layer.tar")
    layers = ["parent/layer.tar", "one/layer.tar", "two/layer.tar"]
    (folder / "manifest.json").write_text(json.dumps([{"Layers": layers}]))

    assert own_files(str(folder), 1) == {
        "d/keep": (sha(b"4"), 1),
        "b/new": (sha(b"5"), 1),
        "c": (sha(b"5"), 1),
    }
    assert set(own_files(str(folder), 0)) == {"p", "d/keep", "b/new", "c"}

    out = tmp_path / "files.json"
    assert cmd_file_index(str(folder), 2, str(out)) == 0
    assert json.loads(out.read_text()) == [["b/new", sha(b"5"), 1], ["c", sha(b"5"), 1]]
