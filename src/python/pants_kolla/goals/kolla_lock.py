"""`pants kolla-lock <specs>`: write each selected image's `packages.lock`, resolved by apt in its parent.

Only locks whose resolution changed are rewritten (a newer Release date alone rewrites nothing), so a
re-lock's diff is exactly the packages that moved, and `--changed-since` then rebuilds exactly their
images and descendants.
"""

from __future__ import annotations

from pants.engine.console import Console
from pants.engine.fs import CreateDigest, Digest, FileContent, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets

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


def _status(lock: ResolvedLock) -> str:
    if not lock.text:
        return f"{lock.path}: no package installs, no lock needed"
    verb = "wrote" if lock.changed else "unchanged"
    return f"{lock.path}: {verb} ({lock.packages} .debs)"


@goal_rule
async def kolla_lock(targets: Targets, console: Console, workspace: Workspace) -> KollaLock:
    nodes = selected_images(targets)
    locks = await MultiGet(Get(ResolvedLock, ResolveLockRequest(n.address)) for n in nodes)
    changed = [lock for lock in locks if lock.text and lock.changed]
    if changed:
        files = [FileContent(lock.path, lock.text.encode()) for lock in changed]
        workspace.write_digest(await Get(Digest, CreateDigest(files)))
    for lock in sorted(locks, key=lambda lock: lock.path):
        console.print_stdout(_status(lock))
    return KollaLock(exit_code=0)


def rules():
    return collect_rules()
