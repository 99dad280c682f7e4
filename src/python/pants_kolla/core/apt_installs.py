"""What a template's package installs render to: apt against the mirror without a lock, the locked .debs
with one.

Both dialects' install helpers (the project's `apt_install` for macros.j2, Kolla's
`debian_package_install`) go through one `AptInstalls` per render, which also records what each install
asks for: `kolla-lock` resolves exactly those, and a render with a lock checks that the template and its
lock agree (drift is an error before any build).

A locked install takes its .debs from `DEBS_MOUNT` when the builder mounts them there (buildah, whose
locked builds run with no network), else fetches them from `DEBS_HOST` through the HTTP proxy the Docker
builder passes as the `http_proxy` build arg: Docker leaves proxy build args out of the image's history
and of its layer cache, so the port is in no image and no key, while the file names and sha256 are in the
Dockerfile.
"""

from __future__ import annotations

from typing import Callable, Iterable

from pants_kolla.core.package_lock import LockedInstall, LockError, PackageLock

DEBS_HOST = "debs.pants-kolla.invalid"
DEBS_DIR = "/tmp/pants-kolla-debs"
APT_HELPER = "/usr/lib/apt/apt-helper"
# A folder every Debian image has: a read-only mount on it leaves nothing in the step's layer, where a
# new mount point would stay behind as an empty folder.
DEBS_MOUNT = "/mnt"


class AptInstalls:
    def __init__(
        self, lock: PackageLock | None, lock_path: str, relock_command: str, scope: str = ""
    ) -> None:
        self.lock = lock
        self.scope = scope  # the install type of a parametrized target's variant (package_lock.py)
        self.lock_path = lock_path
        self.relock_command = relock_command
        self.requested: list[tuple[str, ...]] = []
        self.used: list[LockedInstall] = []

    def command(self, packages: Iterable[str], unlocked: str) -> str:
        """The shell command installing `packages`: `unlocked` (the dialect's apt commands) without a
        lock, else the locked install of exactly these packages."""
        requested = tuple(str(p) for p in packages)
        self.requested.append(requested)
        if self.lock is None:
            return unlocked
        install = self.lock.install_for(requested, self.scope)
        if install is None:
            raise LockError(
                f"the template installs `{' '.join(requested)}`, which {self.lock_path} does not lock. "
                f"Re-lock: {self.relock_command}"
            )
        self.used.append(install)
        return locked_command(install)

    def check_complete(self) -> None:
        """After the render: every install of the lock was asked for."""
        if self.lock is None:
            return
        unused = [i for i in self.lock.installs if i.scope == self.scope and i not in self.used]
        if unused:
            listed = "; ".join(" ".join(i.requested) for i in unused)
            raise LockError(
                f"{self.lock_path} locks installs the template no longer makes ({listed}). "
                f"Re-lock: {self.relock_command}"
            )


def locked_command(install: LockedInstall) -> str:
    """Take the install's .debs from the builder's mount or fetch them by name through its proxy, check
    each against its sha256, let apt install them (no package lists, no mirror) and mark what was not
    asked for as automatic, as a mirror install would."""
    if not install.debs:
        return "true"  # everything asked for is in the parent already
    files = " ".join(d.file_name for d in install.debs)
    sums = " ".join(f"'{d.sha256}  {d.file_name}'" for d in install.debs)
    automatic = sorted({d.name for d in install.debs} - set(install.requested))
    steps = [
        f"mkdir -p {DEBS_DIR} && cd {DEBS_DIR}",
        f"for f in {files}; do if [ -f {DEBS_MOUNT}/$f ]; then cp {DEBS_MOUNT}/$f $f; "
        f"else {APT_HELPER} -o APT::Sandbox::User=root download-file http://{DEBS_HOST}/$f {DEBS_DIR}/$f; fi; done",
        f"printf '%s\\n' {sums} | sha256sum -c --quiet",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./*.deb",
    ]
    if automatic:
        steps.append(f"apt-mark auto {' '.join(automatic)} >/dev/null")
    steps.append(f"cd / && rm -rf {DEBS_DIR}")
    return " \\\n    && ".join(steps)


def project_apt_install(apt: AptInstalls) -> Callable[[Iterable[str]], str]:
    """The pants-kolla dialect's `apt_install(packages)` global (macros.j2's `install_packages`)."""

    def apt_install(packages: Iterable[str]) -> str:
        names = [str(p) for p in packages]
        unlocked = (
            "apt-get update \\\n    && DEBIAN_FRONTEND=noninteractive apt-get install -y "
            "--no-install-recommends " + " ".join(names)
        )
        return apt.command(names, unlocked)

    return apt_install
