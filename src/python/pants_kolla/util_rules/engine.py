"""The Docker engine endpoint handed to builder processes, kept out of their cache keys.

A process's env is part of its cache key, so `DOCKER_HOST=unix:///home/me/...` would make every
checkout and machine miss the (remote) cache. Unix sockets are instead exposed through a named cache
(`.kolla_engine/docker.sock` inside every sandbox, a symlink to the real socket), whose host path never
enters the key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlparse

from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.option.global_options import GlobalOptions
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla import engine_api
from pants_kolla.subsystems.kolla import BuilderChoice, KollaSubsystem
from pants_kolla.util_rules.per_session import PerSession

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
NAMED_CACHE = "kolla_engine"
SANDBOX_SOCKET = ".kolla_engine/docker.sock"


class EngineUnreachable(Exception):
    pass


@dataclass(frozen=True)
class EngineEndpoint:
    docker_host: str
    env: FrozenDict[str, str]
    append_only_caches: FrozenDict[str, str]
    version: str


@dataclass(frozen=True)
class BuilderBackend:
    """What builds images this run: `docker` (an engine, the default where one answers) or `buildah`
    (daemonless, in the sandbox). `version` enters every build's cache key."""

    kind: str
    version: str
    engine: EngineEndpoint | None


def how_to_start_engine(docker_host: str) -> str:
    return (
        f"No Docker engine answers at {docker_host}. Start one, then re-run:\n"
        f"  sudo systemctl start docker            # the system engine (apt-get install -y docker.io)\n"
        f"  or a private one for this repo:\n"
        f"  .ci/dockerd.sh start && export DOCKER_HOST=unix:///var/tmp/kolla-dockerd/docker.sock"
    )


def _point_named_cache_at(named_caches_dir: str, socket_path: str) -> None:
    link_dir = os.path.join(named_caches_dir, NAMED_CACHE)
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "docker.sock")
    if os.path.islink(link) and os.readlink(link) == socket_path:
        return
    tmp = f"{link}.{os.getpid()}"
    os.symlink(socket_path, tmp)
    os.replace(tmp, link)


@dataclass(frozen=True)
class EngineProbe(PerSession):
    """What answers at DOCKER_HOST now: the engine may have stopped (or been upgraded) since the last
    run. One ping, under a ms."""

    endpoint: EngineEndpoint | None
    unreachable: str = ""


@rule(desc="Find the Docker engine")
async def probe_engine(global_options: GlobalOptions) -> EngineProbe:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["DOCKER_HOST"]))
    docker_host = env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    # The version enters every build's cache key: another engine may build differently.
    version = engine_api.ping(docker_host)
    if version is None:
        return EngineProbe(None, how_to_start_engine(docker_host))
    url = urlparse(docker_host)
    if url.scheme == "unix":
        _point_named_cache_at(str(global_options.named_caches_dir), url.path)
        return EngineProbe(EngineEndpoint(
            docker_host,
            FrozenDict({"KOLLA_ENGINE_SOCKET": SANDBOX_SOCKET}),
            FrozenDict({NAMED_CACHE: os.path.dirname(SANDBOX_SOCKET)}),
            version,
        ))
    return EngineProbe(EngineEndpoint(
        docker_host, FrozenDict({"DOCKER_HOST": docker_host}), FrozenDict(), version
    ))


@rule(desc="Check that the Docker engine answers", level=LogLevel.DEBUG)
async def engine_endpoint(probe: EngineProbe) -> EngineEndpoint:
    if probe.endpoint is None:
        raise EngineUnreachable(probe.unreachable)
    return probe.endpoint


@dataclass(frozen=True)
class BuildahProbe(PerSession):
    version: str | None  # None: not installed


@rule(desc="Find buildah", level=LogLevel.DEBUG)
async def probe_buildah() -> BuildahProbe:
    if shutil.which("buildah") is None:
        return BuildahProbe(None)
    out = subprocess.run(["buildah", "--version"], capture_output=True, text=True, check=False).stdout
    return BuildahProbe(out.strip() or "unknown")


@rule(desc="Choose the image builder", level=LogLevel.DEBUG)
async def builder_backend(kolla: KollaSubsystem) -> BuilderBackend:
    if kolla.builder in (BuilderChoice.auto, BuilderChoice.docker):
        probe = await Get(EngineProbe)
        if probe.endpoint is not None:
            return BuilderBackend("docker", probe.endpoint.version, probe.endpoint)
        if kolla.builder == BuilderChoice.docker:
            raise EngineUnreachable(probe.unreachable)
        unreachable = probe.unreachable
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
