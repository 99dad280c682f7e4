"""Reading a regular file out of a tar, for the tests that inspect layers and archives."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def file_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo | str) -> bytes:
    """The bytes of a regular file member; fails naming the member when it is not one (`extractfile`
    returns None for directories, devices and the like)."""
    data = tar.extractfile(member)
    assert data is not None, f"{member!r} is not a regular file"
    return data.read()


def write_layer_tar(path: Path, files: dict[str, bytes]) -> str:
    """A layer tar holding `files` (name -> bytes), in the given order; returns its path."""
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)
