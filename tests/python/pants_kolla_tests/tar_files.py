"""Reading a regular file out of a tar, for the tests that inspect layers and archives."""

from __future__ import annotations

import tarfile


def file_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo | str) -> bytes:
    """The bytes of a regular file member; fails naming the member when it is not one (`extractfile`
    returns None for directories, devices and the like)."""
    data = tar.extractfile(member)
    assert data is not None, f"{member!r} is not a regular file"
    return data.read()
