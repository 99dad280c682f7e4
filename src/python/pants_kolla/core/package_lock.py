"""An image's Debian package lock (`packages.lock`): for each package install of its template, in order,
the packages it asked for and every .deb apt installed for them in the parent image, by sha256.

The file is line-based, one record per line, so a re-lock's diff shows exactly which packages moved:

    # comment
    release <field>: <value>              the suite's Release metadata the lock was resolved against
    install [@<type>] <package>...        one package install of the template, as it asks; `@binary` or
                                          `@source` when only that install type's variant makes it (the
                                          variants of a parametrized target share one folder and lock)
    deb <name> <version> <arch> <size> sha256:<hex> <url>
                                          a .deb that install adds (the lines after its `install`)

Pure: the rules read and write these files, the builder resolves them (util_rules/package_locks.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import unquote, urlparse

from pants_kolla.core.image_tree import ImageNode

LOCK_FILE = "packages.lock"
HEADER = (
    "# Debian packages of this image, resolved by apt in its parent image: `pants kolla-lock` writes\n"
    "# this file, builds install exactly these .debs (by sha256) and read no mirror.\n"
)
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")
_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]*")
# apt-get --print-uris: 'URI' file_name size hash
_PRINT_URIS = re.compile(r"^'(?P<url>[^']+)' (?P<file>\S+) (?P<size>\d+) (?P<hash>\S+)$")


class LockError(ValueError):
    """A lock that cannot be read, or a template that asks for packages its lock lacks."""


@dataclass(frozen=True)
class LockedDeb:
    name: str
    version: str
    arch: str
    size: int
    sha256: str
    url: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def line(self) -> str:
        return f"deb {self.name} {self.version} {self.arch} {self.size} sha256:{self.sha256} {self.url}"


@dataclass(frozen=True)
class LockedInstall:
    """One package install of a template: the packages it asks for, and the .debs apt adds for them."""

    requested: tuple[str, ...]
    debs: tuple[LockedDeb, ...]
    scope: str = ""  # the install type of the variant that makes it; "" for an image of one variant

    def line(self) -> str:
        return " ".join(["install", *([f"@{self.scope}"] if self.scope else []), *self.requested])


@dataclass(frozen=True)
class PackageLock:
    release: tuple[str, ...]  # "Field: value" lines
    installs: tuple[LockedInstall, ...]

    def install_for(self, requested: Iterable[str], scope: str = "") -> LockedInstall | None:
        wanted = tuple(requested)
        return next((i for i in self.installs if i.requested == wanted and i.scope == scope), None)

    def merged(self, other: PackageLock) -> PackageLock:
        """Both locks' installs (the variants of one folder), each once; both Release lines."""
        installs = tuple(dict.fromkeys((*self.installs, *other.installs)))
        return PackageLock(tuple(sorted(set(self.release) | set(other.release))), installs)

    @property
    def debs(self) -> tuple[LockedDeb, ...]:
        """Every locked .deb once, in the lock's order."""
        seen: dict[str, LockedDeb] = {}
        for install in self.installs:
            for deb in install.debs:
                seen.setdefault(deb.sha256, deb)
        return tuple(seen.values())


def lock_scope(node: ImageNode) -> str:
    """Which installs of its folder's lock an image uses: a parametrized target's variants (binary,
    source) share the folder, so each has its own; any other image has the lock to itself."""
    return node.install_type if node.is_per_type else ""


def rootfs_requested(variant: str, packages: Iterable[str]) -> tuple[str, ...]:
    """A rootfs lock's one `install` line: mmdebstrap's variant, then the packages it includes."""
    return (variant, *packages)


def check_rootfs_lock(lock: PackageLock, requested: tuple[str, ...], path: str, relock: str) -> LockedInstall:
    """The rootfs lock's install, if it locks exactly what the target asks mmdebstrap for."""
    if len(lock.installs) != 1 or lock.installs[0].requested != requested:
        locked = "; ".join(" ".join(i.requested) for i in lock.installs) or "nothing"
        raise LockError(
            f"{path} locks `{locked}`, but the rootfs asks mmdebstrap for `{' '.join(requested)}` "
            f"(variant, then packages). Re-lock: {relock}"
        )
    return lock.installs[0]


def dump(lock: PackageLock) -> str:
    lines = [f"release {field}" for field in lock.release]
    for install in lock.installs:
        lines.append(install.line())
        lines.extend(deb.line() for deb in install.debs)
    return HEADER + "\n".join(lines) + "\n"


def parse(text: str, path: str) -> PackageLock:
    """Read a lock; a malformed line raises LockError naming `path:line`."""
    release: list[str] = []
    installs: list[LockedInstall] = []
    requested: tuple[str, ...] | None = None
    scope = ""
    debs: list[LockedDeb] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        where = f"{path}:{number}"
        if kind == "release":
            release.append(rest)
        elif kind == "install":
            if requested is not None:
                installs.append(LockedInstall(requested, tuple(debs), scope))
            scope, names = _scope(rest)
            requested, debs = _requested(names, where), []
        elif kind == "deb":
            if requested is None:
                raise LockError(f"{where}: a `deb` line before any `install` line.")
            debs.append(_deb(rest, where))
        else:
            raise LockError(f"{where}: unknown record `{kind}` (expected release, install or deb).")
    if requested is not None:
        installs.append(LockedInstall(requested, tuple(debs), scope))
    return PackageLock(tuple(release), tuple(installs))


def _scope(rest: str) -> tuple[str, str]:
    first, _, names = rest.partition(" ")
    return (first[1:], names) if first.startswith("@") else ("", rest)


def _requested(rest: str, where: str) -> tuple[str, ...]:
    names = tuple(rest.split())
    bad = [n for n in names if not _NAME.fullmatch(n)]
    if not names or bad:
        raise LockError(f"{where}: `install` needs Debian package names, got `{rest}`.")
    return names


def _deb(rest: str, where: str) -> LockedDeb:
    fields = rest.split()
    if len(fields) != 6:
        raise LockError(f"{where}: a `deb` line has 6 fields: name version arch size sha256:<hex> url.")
    name, version, arch, size, digest, url = fields
    sha = _SHA256.fullmatch(digest)
    if not size.isdigit() or sha is None or urlparse(url).scheme not in ("http", "https"):
        raise LockError(
            f"{where}: `{rest}` needs a size in bytes, sha256:<64 hex digits> and an http(s) URL."
        )
    return LockedDeb(name, version, arch, int(size), sha.group(1), url)


def debs_from_print_uris(output: str, where: str) -> tuple[LockedDeb, ...]:
    """The .debs of `apt-get install --print-uris` output, sorted by name."""
    debs = []
    for line in output.splitlines():
        match = _PRINT_URIS.match(line.strip())
        if match is None:
            continue
        algorithm, _, digest = match["hash"].partition(":")
        if algorithm.upper() != "SHA256":
            raise LockError(f"{where}: apt offers no sha256 for {match['file']} (only {algorithm}).")
        name, version, arch = unquote(match["file"]).removesuffix(".deb").split("_")
        debs.append(LockedDeb(name, version, arch, int(match["size"]), digest, match["url"]))
    return tuple(sorted(debs, key=lambda d: d.name))
