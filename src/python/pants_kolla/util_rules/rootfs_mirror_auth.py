"""Rule: hand `[kolla].debian_mirror`'s credentials to rootfs builds outside their cache key.

Everything a `Process` carries (argv, env, input files) is stored with Pants' cache entries, local and
remote. The credentials instead go to an apt `auth.conf` file in a named cache, which the build sees at
`.kolla_apt_auth/<file>`: named caches are mounted by name, their content is in no key. Each mirror has its
own file, named after its URL without credentials (which the build's command line holds anyway, so the
name adds nothing to the key): runs at once against different mirrors, or the same machine's named caches
shared by several checkouts, never overwrite each other's credentials. A mirror's file is rewritten
(emptied without credentials) every run that uses it; the builder gives it to apt for the rootfs build only
and removes it from the tree before it is packed. The rootfs does not depend on the credentials, so
changing them rebuilds nothing. Runs at once against one mirror with different credentials share its file
(last one wins).

Per session, through Pants' public mechanism: the file is written by a rule returning `PerSession`
(util_rules/per_session.py: its `EngineAwareReturnType.cacheable()` is False, "an uncacheable value is
recomputed in each Session"), so every run writes its own credentials, whatever an earlier run or pantsd
wrote. That rule returns a write failure instead of raising it (a raised error would be memoized);
`rootfs_mirror` raises it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import ClassVar

from pants.engine.rules import collect_rules, rule
from pants.option.global_options import GlobalOptions
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.core.mirror_credentials import split_credentials
from pants_kolla.subsystems.kolla import KollaSubsystem
from pants_kolla.util_rules.per_session import PerSessionCheck

NAMED_CACHE = "kolla_apt_auth"
SANDBOX_DIR = ".kolla_apt_auth"


class AptAuthUnwritable(KollaError):
    pass


@dataclass(frozen=True)
class RootfsMirror:
    url: str  # without credentials
    auth_file: str  # the mirror's apt auth file, as the build sees it
    append_only_caches: FrozenDict[str, str]


def auth_file_name(url: str) -> str:
    """The file holding the login for the mirror at `url` (without credentials)."""
    return f"auth-{hashlib.sha256(url.encode()).hexdigest()[:16]}.conf"


def write_auth_file(named_caches_dir: str, url: str, content: str) -> None:
    folder = os.path.join(named_caches_dir, NAMED_CACHE)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, auth_file_name(url))
    tmp = f"{path}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.replace(tmp, path)


@dataclass(frozen=True)
class AptAuthWritten(PerSessionCheck):
    """The auth file, rewritten in this session: it must hold this run's credentials."""

    url: str  # the mirror without credentials
    failure: str = ""  # it could not be written
    raises: ClassVar = AptAuthUnwritable


@rule(desc="Hand the Debian mirror's credentials to rootfs builds", level=LogLevel.DEBUG)
async def write_apt_auth(kolla: KollaSubsystem, global_options: GlobalOptions) -> AptAuthWritten:
    mirror = split_credentials(kolla.debian_mirror)
    try:
        write_auth_file(str(global_options.named_caches_dir), mirror.url, mirror.auth_conf)
    except OSError as e:
        return AptAuthWritten(
            mirror.url,
            f"Cannot write the apt auth file for [kolla].debian_mirror's "
            f"credentials in [GLOBAL].named_caches_dir: {e.strerror}: {e.filename}",
        )
    return AptAuthWritten(mirror.url)


@rule(desc="Find the Debian mirror of rootfs builds", level=LogLevel.DEBUG)
async def rootfs_mirror(written: AptAuthWritten) -> RootfsMirror:
    written.raise_failure()
    return RootfsMirror(
        written.url, f"{SANDBOX_DIR}/{auth_file_name(written.url)}", FrozenDict({NAMED_CACHE: SANDBOX_DIR})
    )


def rules():
    return collect_rules()
