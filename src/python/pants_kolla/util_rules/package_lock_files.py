"""Reading a target's package lock file (its `package_lock` field): the path, and the parsed lock or
None when the target has none yet. A malformed lock is an input error naming the file and line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get
from pants.engine.target import Target

from pants_kolla.core.errors import KollaInputError, file_text, where
from pants_kolla.core.package_lock import LockError, PackageLock
from pants_kolla.core.package_lock import parse as parse_lock
from pants_kolla.target_types import KollaPackageLockField


@dataclass(frozen=True)
class PackageLockFile:
    path: str  # from the build root
    lock: Optional[PackageLock]
    relock_command: str


async def read_package_lock(target: Target, broken_is_absent: bool = False) -> PackageLockFile:
    """`broken_is_absent`: for `kolla-lock`, which replaces a lock it cannot read."""
    path = os.path.join(target.address.spec_path, target[KollaPackageLockField].value)
    relock = f"pants kolla-lock {target.address.spec}"
    contents = await Get(DigestContents, PathGlobs([path]))
    if not contents:
        return PackageLockFile(path, None, relock)
    origin = where(target.address, KollaPackageLockField.alias)
    try:
        return PackageLockFile(path, parse_lock(file_text(contents[0].content, path, origin), path), relock)
    except LockError as e:
        if broken_is_absent:
            return PackageLockFile(path, None, relock)
        raise KollaInputError(f"{origin}: {e}")
