"""The Docker engine endpoint handed to builder processes, kept out of their cache keys.

A process's env is part of its cache key, so `DOCKER_HOST=unix:///home/me/...` would make every
checkout and machine miss the (remote) cache. Unix sockets are instead exposed through a named cache
(`.kolla_engine/docker.sock` inside every sandbox, a symlink to the real socket), whose host path never
enters the key.

Under remote execution (util_rules/worker.py) builds run on the worker and use the worker host's engine:
the same named cache, which the worker host links to its engine's socket. What is asked of the engine
then (is it there, its version) is asked on the worker, by a process, not here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from urllib.parse import urlparse

from pants.core.util_rules.environments import EnvironmentsSubsystem, EnvironmentTarget, RemotePlatformField
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


class ExecutorUnreachable(Exception):
    pass


@dataclass(frozen=True)
class EngineEndpoint:
    docker_host: str
    env: FrozenDict[str, str]
    append_only_caches: FrozenDict[str, str]
    version: str
    # The remote worker whose engine this is (remote execution); "" for an engine this machine reaches.
    remote_host: str = ""


@dataclass(frozen=True)
class BuilderBackend:
    """What builds images this run: `docker` (an engine, the default where one answers) or `buildah`
    (daemonless, in the sandbox). `version` enters every build's cache key."""

    kind: str
    version: str
    engine: EngineEndpoint | None


@dataclass(frozen=True)
class RemoteExecution(PerSession):
    """Whether this run's processes execute remotely (`--remote-execution`, or a `remote_environment`),
    and whether the executor answers now (it may have gone away since the last run)."""

    remote: bool
    address: str
    unreachable: str = ""

    def check(self) -> None:
        if self.unreachable:
            raise ExecutorUnreachable(self.unreachable)


@dataclass(frozen=True)
class WorkerTools(PerSession):
    """The builders the machine that runs this run's processes has (kolla_probe.py, util_rules/worker.py)."""

    host: str
    docker: str | None  # the engine's version
    docker_where: str
    buildah: str | None
    where: str  # "the remote worker <host> (<executor address>)"


def unreachable(address: str, option: str) -> str:
    """One TCP connect, so that a down executor is one clear line (Pants alone retries for ~50 s, then
    says `Unavailable: tcp connect error` without naming the address). "" when it answers."""
    url = urlparse(address)
    default_port = 443 if url.scheme in ("grpcs", "https") else 80
    try:
        socket.create_connection((url.hostname or "localhost", url.port or default_port), timeout=10).close()
    except OSError as e:
        return (
            f"The remote executor at {address} does not answer ({option}): {e.strerror or e}. Start it "
            "or fix the address, or run without --remote-execution."
        )
    return ""


@rule(desc="Check the remote executor", level=LogLevel.DEBUG)
async def remote_execution(
    global_options: GlobalOptions, environments: EnvironmentsSubsystem, env_tgt: EnvironmentTarget
) -> RemoteExecution:
    remote = environments.remote_execution_used_globally(global_options) or bool(
        env_tgt.val is not None and env_tgt.val.has_field(RemotePlatformField)
    )
    if not remote:
        return RemoteExecution(False, "")
    address = global_options.remote_execution_address or ""
    store = global_options.remote_store_address or ""
    problem = unreachable(address, "--remote-execution-address")
    if not problem and store and store != address:
        problem = unreachable(store, "--remote-store-address")
    return RemoteExecution(True, address, problem)


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


def _worker_engine(tools: WorkerTools) -> EngineEndpoint:
    if tools.docker is None:
        raise EngineUnreachable(
            f"No Docker engine answers on {tools.where} at {tools.docker_where}: `[kolla].builder = "
            f"\"docker\"` needs an engine on every worker, its socket linked as "
            f"<--remote-execution-append-only-caches-base-path>/{NAMED_CACHE}/docker.sock; or use "
            f"`[kolla].builder = \"buildah\"` (buildah and mmdebstrap on the workers)."
        )
    return EngineEndpoint(
        f"the engine of {tools.where}",
        FrozenDict({"KOLLA_ENGINE_SOCKET": SANDBOX_SOCKET}),
        FrozenDict({NAMED_CACHE: os.path.dirname(SANDBOX_SOCKET)}),
        tools.docker,
        tools.host,
    )


async def _worker_backend(builder: BuilderChoice) -> BuilderBackend:
    tools = await Get(WorkerTools)
    if builder == BuilderChoice.docker or (builder == BuilderChoice.auto and tools.docker is not None):
        return BuilderBackend("docker", tools.docker or "", _worker_engine(tools))
    if tools.buildah is None:
        raise EngineUnreachable(
            f"buildah is not installed on {tools.where}"
            + (" and no Docker engine answers there" if builder == BuilderChoice.auto else "")
            + ": `[kolla].builder = \"buildah\"` needs buildah (and mmdebstrap) on every worker "
            "(apt-get install -y buildah mmdebstrap)."
        )
    return BuilderBackend("buildah", tools.buildah, None)


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
async def engine_endpoint(remote: RemoteExecution) -> EngineEndpoint:
    if remote.remote:
        remote.check()
        return _worker_engine(await Get(WorkerTools))
    probe = await Get(EngineProbe)
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
    remote = await Get(RemoteExecution)
    if remote.remote:
        remote.check()
        return await _worker_backend(kolla.builder)
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
