"""Layer entries and their normalized tar, from a `docker save` layer tar or straight from an overlay2
layer directory of the engine.

Reading the layer directory skips `docker save`, which re-tars the image's whole ancestry (every
inherited layer) just to hand back the one or two layers a build added. Both sources yield the same
entries (the rules of moby's `pkg/archive` for an overlay2 diff, reproduced in `entries_from_dir`), and
the normalized tar is built from those entries only, so it is byte-identical whichever source was read
(`test_layers_read_from_the_engine_storage_equal_docker_save` checks that on a real engine).
"""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass
from typing import IO, Callable, Iterator, Optional

# Files a package manager leaves behind that differ on every build and are never needed at runtime.
VOLATILE_PREFIXES = (
    "var/log/apt/",
    "var/log/dpkg.log",
    "var/log/alternatives.log",
    "var/cache/apt/",
    "var/cache/ldconfig/aux-cache",
    "var/lib/apt/lists/",
    "var/cache/debconf/config.dat-old",
    "var/cache/debconf/templates.dat-old",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/passwd-",
    "etc/group-",
)
XATTR_PREFIX = "SCHILY.xattr."
WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
# moby writes the opaque-directory marker without a time: 0 in the tar header.
OPAQUE_MTIME = 0


@dataclass
class Entry:
    """One layer member: what a tar header says, plus how to open a regular file's bytes."""

    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[str, str], ...] = ()
    open: Optional[Callable[[], IO[bytes]]] = None


def entries_from_tar(tar: tarfile.TarFile) -> Iterator[Entry]:
    for m in tar.getmembers():
        xattrs = tuple(sorted((k, v) for k, v in m.pax_headers.items() if k.startswith(XATTR_PREFIX)))
        kind = tarfile.REGTYPE if m.type == tarfile.AREGTYPE else m.type
        yield Entry(
            name=m.name,
            type=kind,
            mode=m.mode & 0o7777,
            uid=m.uid,
            gid=m.gid,
            size=m.size,
            mtime=int(m.mtime),
            linkname=m.linkname,
            devmajor=m.devmajor,
            devminor=m.devminor,
            xattrs=xattrs,
            open=_member_opener(tar, m) if m.isreg() else None,
        )


def _member_opener(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        data = tar.extractfile(member)
        assert data is not None, f"{member.name} is a regular file: the tar has its bytes"
        return data

    return open_member


def _file_opener(path: str) -> Callable[[], IO[bytes]]:
    return lambda: open(path, "rb")


def entries_from_dir(diff_dir: str) -> Iterator[Entry]:
    """The entries `docker save` would give for an overlay2 layer directory: moby's
    `archive.TarWithOptions(..., OverlayWhiteoutFormat)` walk, header by header."""
    seen_inodes: dict[tuple[int, int], str] = {}
    for rel in _walk(diff_dir, ""):
        path = os.path.join(diff_dir, rel)
        st = os.lstat(path)
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFSOCK:
            continue  # moby logs "sockets not supported" and leaves them out
        entry = _entry_from_stat(rel, path, st, seen_inodes)
        yield entry
        if kind == stat.S_IFDIR and _getxattr(path, "trusted.overlay.opaque") == b"y":
            yield _opaque_marker(rel, entry)


def _walk(diff_dir: str, rel: str) -> Iterator[str]:
    """Go's filepath.Walk: lexical per directory, depth first; paths relative to `diff_dir`."""
    for name in sorted(os.listdir(os.path.join(diff_dir, rel) if rel else diff_dir)):
        child = f"{rel}/{name}" if rel else name
        yield child
        if stat.S_ISDIR(os.lstat(os.path.join(diff_dir, child)).st_mode):
            yield from _walk(diff_dir, child)


def _entry_from_stat(
    rel: str, path: str, st: os.stat_result, seen_inodes: dict[tuple[int, int], str]
) -> Entry:
    """The header moby writes for one file of the layer directory. `seen_inodes` maps each inode with
    several links to the first path it was seen at: the later paths become hard links to that one."""
    kind = stat.S_IFMT(st.st_mode)
    entry = Entry(
        name=rel,
        type=_TYPES[kind],
        mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        size=st.st_size if kind == stat.S_IFREG else 0,
        mtime=st.st_mtime_ns // 1_000_000_000,
        xattrs=_capability(path),
    )
    if kind == stat.S_IFLNK:
        entry.linkname = os.readlink(path)
    if kind in (stat.S_IFCHR, stat.S_IFBLK):
        entry.devmajor, entry.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    if kind != stat.S_IFDIR and st.st_nlink > 1:
        first = seen_inodes.setdefault((st.st_dev, st.st_ino), rel)
        if first != rel:
            entry.type, entry.linkname, entry.size = tarfile.LNKTYPE, first, 0
    if kind == stat.S_IFCHR and st.st_rdev == 0:
        _make_whiteout(entry, rel)
    elif entry.type == tarfile.REGTYPE:
        entry.open = _file_opener(path)
    return entry


def _make_whiteout(entry: Entry, rel: str) -> None:
    """An overlay whiteout (a 0:0 device) becomes an empty `.wh.<name>` file."""
    head, _, tail = rel.rpartition("/")
    entry.name = f"{head}/{WHITEOUT_PREFIX}{tail}" if head else WHITEOUT_PREFIX + tail
    entry.type, entry.mode, entry.size, entry.devmajor, entry.devminor = tarfile.REGTYPE, 0o600, 0, 0, 0


def _opaque_marker(rel: str, directory: Entry) -> Entry:
    """The empty file moby adds inside an overlay directory marked opaque (it hides the lower layers'
    contents of that directory)."""
    return Entry(
        name=f"{rel}/{OPAQUE_WHITEOUT}",
        type=tarfile.REGTYPE,
        mode=directory.mode & 0o777,
        uid=directory.uid,
        gid=directory.gid,
        size=0,
        mtime=OPAQUE_MTIME,
    )


_TYPES = {
    stat.S_IFREG: tarfile.REGTYPE,
    stat.S_IFDIR: tarfile.DIRTYPE,
    stat.S_IFLNK: tarfile.SYMTYPE,
    stat.S_IFCHR: tarfile.CHRTYPE,
    stat.S_IFBLK: tarfile.BLKTYPE,
    stat.S_IFIFO: tarfile.FIFOTYPE,
}


def _getxattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _capability(path: str) -> tuple[tuple[str, str], ...]:
    # moby records only this extended attribute (ReadSecurityXattrToTarHeader).
    value = _getxattr(path, "security.capability")
    if value is None:
        return ()
    return ((XATTR_PREFIX + "security.capability", value.decode("utf-8", "surrogateescape")),)


def write_normalized(entries: Iterator[Entry], dest: str, epoch: int) -> None:
    """A reproducible layer tar: sorted by name (hard links last: a link must follow its target), mtimes
    clamped to SOURCE_DATE_EPOCH, no user or group names, only extended attributes kept from PAX, a link
    name only on links, and no package-manager leftovers.

    The link name matters: `docker save` replays the tar the engine wrote when it committed the build
    step, where whiteouts could share one inode (overlayfs does that on newer kernels), so a whiteout file
    may carry the link name of another; readers ignore it, but it would make the bytes depend on the
    build host's kernel."""
    kept = [e for e in entries if not e.name.lstrip("./").startswith(VOLATILE_PREFIXES)]
    kept.sort(key=lambda e: (e.type == tarfile.LNKTYPE, e.name))
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar_out:
        for e in kept:
            info = tarfile.TarInfo(e.name)
            info.type, info.mode, info.uid, info.gid = e.type, e.mode, e.uid, e.gid
            info.size, info.mtime = e.size, min(e.mtime, epoch)
            info.linkname = e.linkname if e.type in (tarfile.LNKTYPE, tarfile.SYMTYPE) else ""
            info.devmajor, info.devminor = e.devmajor, e.devminor
            info.uname = info.gname = ""
            info.pax_headers = dict(e.xattrs)
            if e.open is not None and e.size:
                with e.open() as data:
                    tar_out.addfile(info, data)
            else:
                tar_out.addfile(info)
