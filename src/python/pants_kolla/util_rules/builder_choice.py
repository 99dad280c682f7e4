"""Rule: what builds images this run, `docker` (an engine) or `buildah` (daemonless, in the sandbox).

`[kolla].builder = "auto"` takes the engine where one answers and buildah otherwise, but only when the
user named no engine: an engine chosen through `DOCKER_HOST`, `DOCKER_CONTEXT` or a docker context that
does not answer is an error, never a silent switch to another builder. Under remote execution the
choice is made from what the worker has (util_rules/worker_probe.py).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pants_kolla.subsystems.kolla import BuilderChoice, KollaSubsystem
from pants_kolla.util_rules.engine_endpoint import (
    EngineEndpoint,
    EngineProbe,
    EngineUnreachable,
    worker_engine,
)
from pants_kolla.util_rules.per_session import PerSession
from pants_kolla.util_rules.remote_execution import RemoteExecution
from pants_kolla.util_rules.worker_probe import WorkerTools

CHOSEN_ENGINE = (
    '\n`[kolla].builder = "auto"` builds with buildah only when no engine is named: this one is named by '
    'DOCKER_HOST or a docker context. Unset it, or set `[kolla].builder = "buildah"` '
    "(apt-get install -y buildah)."
)


@dataclass(frozen=True)
class BuilderBackend:
    """What builds images this run: `docker` (an engine, the default where one answers) or `buildah`
    (daemonless, in the sandbox). `version` enters every build's cache key."""

    kind: str
    version: str
    engine: EngineEndpoint | None


@dataclass(frozen=True)
class BuildahProbe(PerSession):
    version: str | None  # None: not installed


@rule(desc="Find buildah", level=LogLevel.DEBUG)
async def probe_buildah() -> BuildahProbe:
    if shutil.which("buildah") is None:
        return BuildahProbe(None)
    out = subprocess.run(["buildah", "--version"], capture_output=True, text=True, check=False).stdout
    return BuildahProbe(out.strip() or "unknown")


async def _worker_backend(builder: BuilderChoice) -> BuilderBackend:
    tools = await Get(WorkerTools)
    if builder == BuilderChoice.docker or (builder == BuilderChoice.auto and tools.docker is not None):
        return BuilderBackend("docker", tools.docker or "", worker_engine(tools))
    if tools.buildah is None:
        raise EngineUnreachable(
            f"buildah is not installed on {tools.where}"
            + (" and no Docker engine answers there" if builder == BuilderChoice.auto else "")
            + ': `[kolla].builder = "buildah"` needs buildah (and mmdebstrap) on every worker '
            "(apt-get install -y buildah mmdebstrap)."
        )
    return BuilderBackend("buildah", tools.buildah, None)


@rule(desc="Choose the image builder", level=LogLevel.DEBUG)
async def builder_backend(kolla: KollaSubsystem) -> BuilderBackend:
    remote = await Get(RemoteExecution)
    if remote.remote:
        remote.raise_failure()
        return await _worker_backend(kolla.builder)
    if kolla.builder in (BuilderChoice.auto, BuilderChoice.docker):
        probe = await Get(EngineProbe)
        if probe.endpoint is not None:
            return BuilderBackend("docker", probe.endpoint.version, probe.endpoint)
        if kolla.builder == BuilderChoice.docker or probe.misconfigured:
            probe.raise_failure()
        if probe.chosen:
            raise EngineUnreachable(probe.failure + CHOSEN_ENGINE)
        unreachable = probe.failure
    else:
        unreachable = ""
    version = (await Get(BuildahProbe)).version
    if version is None:
        raise EngineUnreachable(
            (unreachable + "\n" if unreachable else "")
            + "The daemonless builder is not installed either: apt-get install -y buildah"
        )
    return BuilderBackend("buildah", version, None)


def rules():
    return collect_rules()
