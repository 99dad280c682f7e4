"""`pants kolla-lock <specs>`: write each selected image's `packages.lock`, resolved by apt in its parent.

Only locks whose resolution changed are rewritten (a newer Release date alone rewrites nothing), so a
re-lock's diff is exactly the packages that moved, and `--changed-since` then rebuilds exactly their
images and descendants.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Optional

from pants.engine.console import Console
from pants.engine.fs import CreateDigest, Digest, FileContent, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets

from pants_kolla.core.package_lock import PackageLock, dump
from pants_kolla.goals.image_selection import selected_images
from pants_kolla.util_rules.package_lock_resolve import ResolvedLock, ResolveLockRequest


class KollaLockSubsystem(GoalSubsystem):
    name = "kolla-lock"
    help = (
        "Resolve the Debian packages each selected `kolla_image` installs (with apt in its parent image) "
        "and each `debian_rootfs` is made of (with mmdebstrap) into its `packages.lock`: builds then "
        "install exactly those .debs and read no mirror."
    )


class KollaLock(Goal):
    subsystem_cls = KollaLockSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class _LockFile:
    """One lock file: the parts of every selected target it belongs to, merged."""

    path: str
    lock: Optional[PackageLock]
    existing: Optional[PackageLock]

    @property
    def changed(self) -> bool:
        # Only the installs count: a newer Release date alone rewrites nothing.
        return self.lock is not None and (
            self.existing is None or self.existing.installs != self.lock.installs
        )

    def status(self) -> str:
        if self.lock is None:
            return f"{self.path}: no package installs, no lock needed"
        return f"{self.path}: {'wrote' if self.changed else 'unchanged'} ({len(self.lock.debs)} .debs)"


def _lock_file(path: str, parts: list[ResolvedLock]) -> _LockFile:
    """The variants of a parametrized target (binary, source) share their folder's lock: the selected
    ones' installs, and the file's installs of variants not selected, kept."""
    existing = parts[0].existing
    resolved = [p.lock for p in parts if p.lock is not None]
    scopes = {p.scope for p in parts}
    kept = tuple(i for i in existing.installs if i.scope not in scopes) if existing else ()
    if kept and existing:
        resolved.append(PackageLock(existing.release, kept))
    lock = functools.reduce(PackageLock.merged, resolved) if resolved else None
    return _LockFile(path, lock, existing)


def _lock_files(parts: Iterable[ResolvedLock]) -> list[_LockFile]:
    by_path: dict[str, list[ResolvedLock]] = {}
    for part in parts:
        by_path.setdefault(part.path, []).append(part)
    return [_lock_file(path, by_path[path]) for path in sorted(by_path)]


@goal_rule
async def kolla_lock(targets: Targets, console: Console, workspace: Workspace) -> KollaLock:
    nodes = selected_images(targets)
    parts = await MultiGet(Get(ResolvedLock, ResolveLockRequest(n.address)) for n in nodes)
    files = _lock_files(parts)
    written = [FileContent(f.path, dump(f.lock).encode()) for f in files if f.lock is not None and f.changed]
    if written:
        workspace.write_digest(await Get(Digest, CreateDigest(written)))
    for lock_file in files:
        console.print_stdout(lock_file.status())
    return KollaLock(exit_code=0)


def rules():
    return collect_rules()
