"""Rules: the host tools builds need, checked before any other work: one error naming every missing tool
and the command that installs or starts it, within seconds. The checked builder (`Builder`), which every
build takes, waits for it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import ClassVar

from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.option.global_options import GlobalOptions

from pants_kolla.core.errors import KollaError
from pants_kolla.util_rules.builder_choice import BuilderBackend
from pants_kolla.util_rules.builder_process import UncheckedBuilder
from pants_kolla.util_rules.engine_endpoint import EngineUnreachable
from pants_kolla.util_rules.per_session import PerSessionCheck
from pants_kolla.util_rules.remote_execution import RemoteExecution
from pants_kolla.util_rules.source_date_epoch import SourceDateEpochCheck

MMDEBSTRAP_MISSING = (
    "mmdebstrap builds debian_rootfs targets and is not installed: apt-get install -y mmdebstrap"
)


class MissingPrerequisites(KollaError):
    pass


@dataclass(frozen=True)
class BuildPrerequisites(PerSessionCheck):
    """Checked in every session: a tool may have been installed, or an engine started, since the last run."""

    backend: BuilderBackend | None  # None when it could not be chosen: `failure` says why
    failure: str = ""  # every missing tool, one per line
    raises: ClassVar = MissingPrerequisites

    def checked(self) -> BuilderBackend:
        self.raise_failure()
        assert self.backend is not None  # no backend is always a missing tool
        return self.backend


@rule(desc="Check the tools image builds need")
async def build_prerequisites(global_options: GlobalOptions) -> BuildPrerequisites:
    missing = []
    backend = None
    try:
        backend = await Get(BuilderBackend)
    except EngineUnreachable as e:
        missing.append(str(e))
    # Under remote execution the backend is what the worker's probe reported (util_rules/remote_execution.py): no
    # tool of this machine matters, and a rootfs build names the worker lacking mmdebstrap.
    if not (await Get(RemoteExecution)).remote:
        # The client's PATH, not pantsd's. With remote cache reads a rootfs usually comes from the cache:
        # then a missing mmdebstrap is reported by the rootfs build, if one has to run.
        env = await Get(EnvironmentVars, EnvironmentVarsRequest(["PATH"]))
        if not global_options.remote_cache_read and shutil.which("mmdebstrap", path=env.get("PATH")) is None:
            missing.append(MMDEBSTRAP_MISSING)
    if not missing:
        return BuildPrerequisites(backend=backend)
    lines = "\n".join(f"- {m}" for m in missing)
    return BuildPrerequisites(
        backend=backend, failure=f"Nothing was built: tools the builds need are missing.\n{lines}"
    )


@dataclass(frozen=True)
class Builder(UncheckedBuilder):
    """The builder, once the machine (or the remote worker) has what builds need."""


@rule
async def checked_builder(prerequisites: BuildPrerequisites, epoch: SourceDateEpochCheck) -> Builder:
    prerequisites.checked()
    # Both checks first (under remote execution the tools are the worker's, probed with the unchecked
    # builder). Every build needs the builder, so no build runs with a future `[kolla].source_date_epoch`.
    epoch.raise_failure()
    unchecked = await Get(UncheckedBuilder)
    return Builder(unchecked.sources, unchecked.python_version)


def rules():
    return collect_rules()
