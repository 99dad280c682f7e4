"""The Docker engine endpoint handed to builder processes, kept out of their cache keys.

A process's env is part of its cache key, so `DOCKER_HOST=unix:///home/me/...` would make every
checkout and machine miss the (remote) cache. Unix sockets are instead exposed through a named cache
(`.kolla_engine/docker.sock` inside every sandbox, a symlink to the real socket), whose host path never
enters the key.

Under remote execution (util_rules/worker.py) builds run on the worker and use the worker host's engine:
the same named cache, which the worker host links to its engine's socket. What is asked of the engine
then (is it there, its version) is asked on the worker, by a process, not here.

A TLS endpoint (`DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, or a docker context's TLS material) is handed over
the same way: its certificate files are linked into the named cache under a folder named after the
endpoint's host, and the builder gets `DOCKER_CERT_PATH` relative to its sandbox. `DOCKER_HOST=tcp://...`
itself stays in the env (and so in the key) as before; no host path does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlparse

from pants.core.util_rules.environments import EnvironmentsSubsystem, EnvironmentTarget, RemotePlatformField
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.option.global_options import GlobalOptions
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla import engine_api
from pants_kolla.subsystems.kolla import BuilderChoice, KollaSubsystem
from pants_kolla.util_rules.per_session import PerSession, PerSessionCheck

NAMED_CACHE = "kolla_engine"
SANDBOX_CACHE = ".kolla_engine"
SANDBOX_SOCKET = f"{SANDBOX_CACHE}/docker.sock"
# The names the SDK's `from_env` (the builder) looks for in DOCKER_CERT_PATH.
CERT_FILES = ("ca.pem", "cert.pem", "key.pem")


class EngineUnreachable(Exception):
    pass


class ExecutorUnreachable(Exception):
    pass


@dataclass(frozen=True)
class EngineEndpoint:
    # The host and TLS material, as the docker CLI would use them; a remote worker's engine is only named.
    docker_host: engine_api.Endpoint | str
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
class RemoteExecution(PerSessionCheck):
    """Whether this run's processes execute remotely (`--remote-execution`, or a `remote_environment`),
    and whether the executor answers now (it may have gone away since the last run)."""

    remote: bool
    address: str
    failure: str = ""  # the executor does not answer
    raises: ClassVar = ExecutorUnreachable


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


def how_to_start_engine(docker_host: engine_api.Endpoint | str, reason: str = "") -> str:
    return (
        f"No Docker engine answers at {docker_host}{f' ({reason})' if reason else ''}. Start one, then re-run:\n"
        f"  sudo systemctl start docker            # the system engine (apt-get install -y docker.io)\n"
        f"  or a private one for this repo:\n"
        f"  .ci/dockerd.sh start && export DOCKER_HOST=unix:///var/tmp/kolla-dockerd/docker.sock"
    )


def _point_named_cache_at(named_caches_dir: str, relative_link: str, target: str) -> None:
    """Make `<named cache>/<relative_link>` a symlink to `target` (atomically: concurrent runs)."""
    link = os.path.join(named_caches_dir, NAMED_CACHE, relative_link)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == target:
        return
    tmp = f"{link}.{os.getpid()}"
    os.symlink(target, tmp)
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


def builder_env(endpoint: engine_api.Endpoint, named_caches_dir: str) -> FrozenDict[str, str]:
    """What a builder process needs to reach `endpoint`, with no host path in it (see the module doc)."""
    url = urlparse(endpoint.host)
    if url.scheme == "unix":
        _point_named_cache_at(named_caches_dir, os.path.basename(SANDBOX_SOCKET), url.path)
        return FrozenDict({"KOLLA_ENGINE_SOCKET": SANDBOX_SOCKET})
    env = {"DOCKER_HOST": endpoint.host}
    if endpoint.tls:
        # One folder per host, so that runs against different engines do not swap each other's files;
        # named after what is in the env anyway (the host), so it adds nothing to the key.
        folder = "tls-" + hashlib.sha256(endpoint.host.encode()).hexdigest()[:16]
        for name, path in zip(CERT_FILES, (endpoint.ca_cert, endpoint.client_cert, endpoint.client_key)):
            if path:
                _point_named_cache_at(named_caches_dir, f"{folder}/{name}", os.path.abspath(path))
        env["DOCKER_CERT_PATH"] = f"{SANDBOX_CACHE}/{folder}"
        if endpoint.tls_verify:
            env["DOCKER_TLS_VERIFY"] = "1"
    return FrozenDict(env)


@dataclass(frozen=True)
class EngineProbe(PerSessionCheck):
    """What answers at DOCKER_HOST (or the docker context) now: the engine may have stopped (or been
    upgraded) since the last run. One ping, about a ms."""

    endpoint: EngineEndpoint | None
    failure: str = ""  # set when `endpoint` is None: why, and how to start one
    raises: ClassVar = EngineUnreachable
    # The endpoint is set up wrong (TLS, context, scheme): reported even when buildah could build.
    misconfigured: bool = False


@rule(desc="Find the Docker engine")
async def probe_engine(global_options: GlobalOptions) -> EngineProbe:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(engine_api.ENV_VARS))
    try:
        docker_host = engine_api.resolve(env)
        # The version enters every build's cache key: another engine may build differently.
        version = engine_api.ping(docker_host)
    except engine_api.EngineConfigError as e:
        return EngineProbe(None, str(e), misconfigured=True)
    except engine_api.EngineApiError as e:
        return EngineProbe(None, how_to_start_engine(e.endpoint, e.reason))
    return EngineProbe(EngineEndpoint(
        docker_host,
        builder_env(docker_host, str(global_options.named_caches_dir)),
        FrozenDict({NAMED_CACHE: SANDBOX_CACHE}),
        version,
    ))


@rule(desc="Check that the Docker engine answers", level=LogLevel.DEBUG)
async def engine_endpoint(remote: RemoteExecution) -> EngineEndpoint:
    if remote.remote:
        remote.raise_failure()
        return _worker_engine(await Get(WorkerTools))
    probe = await Get(EngineProbe)
    probe.raise_failure()
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
        remote.raise_failure()
        return await _worker_backend(kolla.builder)
    if kolla.builder in (BuilderChoice.auto, BuilderChoice.docker):
        probe = await Get(EngineProbe)
        if probe.endpoint is not None:
            return BuilderBackend("docker", probe.endpoint.version, probe.endpoint)
        if kolla.builder == BuilderChoice.docker or probe.misconfigured:
            probe.raise_failure()
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
