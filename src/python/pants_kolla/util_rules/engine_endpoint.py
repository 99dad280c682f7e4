"""The Docker engine endpoint handed to builder processes, kept out of their cache keys.

A process's env is part of its cache key, so `DOCKER_HOST=unix:///home/me/...` would make every
checkout and machine miss the (remote) cache. Unix sockets are instead exposed through a named cache
(`.kolla_engine/docker.sock` inside every sandbox, a symlink to the real socket), whose host path never
enters the key.

Under remote execution (util_rules/remote_execution.py) builds run on the worker and use the worker host's engine:
the same named cache, which the worker host links to its engine's socket. What is asked of the engine
then (is it there, its version) is asked on the worker, by a process, not here.

A TLS endpoint (`DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, or a docker context's TLS material) is handed over
the same way: its certificate files are linked into the named cache under a folder named after the
endpoint's host, and the builder gets `DOCKER_CERT_PATH` relative to its sandbox. `DOCKER_HOST=tcp://...`
itself stays in the env (and so in the key); no host path does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlparse

from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.option.global_options import GlobalOptions
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_kolla.core.errors import KollaError
from pants_kolla.docker_api import engine_client
from pants_kolla.util_rules.builder_process import (
    ENGINE_NAMED_CACHE,
    ENGINE_SANDBOX_DIR,
    ENGINE_SANDBOX_SOCKET,
)
from pants_kolla.util_rules.per_session import PerSessionCheck
from pants_kolla.util_rules.remote_execution import RemoteExecution
from pants_kolla.util_rules.worker_probe import WorkerTools

# The names the SDK's `from_env` (the builder) looks for in DOCKER_CERT_PATH.
CERT_FILES = ("ca.pem", "cert.pem", "key.pem")


class EngineUnreachable(KollaError):
    pass


@dataclass(frozen=True)
class EngineEndpoint:
    # The host and TLS material, as the docker CLI would use them; a remote worker's engine is only named.
    docker_host: engine_client.Endpoint | str
    env: FrozenDict[str, str]
    append_only_caches: FrozenDict[str, str]
    version: str
    # The remote worker whose engine this is (remote execution); "" for an engine this machine reaches.
    remote_host: str = ""


def how_to_start_engine(docker_host: engine_client.Endpoint | str, reason: str = "") -> str:
    return (
        f"No Docker engine answers at {docker_host}{f' ({reason})' if reason else ''}. Start one, then re-run:\n"
        f"  sudo systemctl start docker            # the system engine (apt-get install -y docker.io)\n"
        f"  or a private one for this repo:\n"
        f"  .ci/dockerd.sh start && export DOCKER_HOST=unix:///var/tmp/kolla-dockerd/docker.sock"
    )


def _point_named_cache_at(named_caches_dir: str, relative_link: str, target: str) -> None:
    """Make `<named cache>/<relative_link>` a symlink to `target` (atomically: concurrent runs)."""
    link = os.path.join(named_caches_dir, ENGINE_NAMED_CACHE, relative_link)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == target:
        return
    tmp = f"{link}.{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)


def worker_engine(tools: WorkerTools) -> EngineEndpoint:
    if tools.docker is None:
        raise EngineUnreachable(
            f"No Docker engine answers on {tools.where} at {tools.docker_where}: `[kolla].builder = "
            f'"docker"` needs an engine on every worker, its socket linked as '
            f"<--remote-execution-append-only-caches-base-path>/{ENGINE_NAMED_CACHE}/docker.sock; or use "
            f'`[kolla].builder = "buildah"` (buildah and mmdebstrap on the workers).'
        )
    return EngineEndpoint(
        docker_host=f"the engine of {tools.where}",
        env=FrozenDict({"KOLLA_ENGINE_SOCKET": ENGINE_SANDBOX_SOCKET}),
        append_only_caches=FrozenDict({ENGINE_NAMED_CACHE: os.path.dirname(ENGINE_SANDBOX_SOCKET)}),
        version=tools.docker,
        remote_host=tools.host,
    )


def builder_env(endpoint: engine_client.Endpoint, named_caches_dir: str) -> FrozenDict[str, str]:
    """What a builder process needs to reach `endpoint`, with no host path in it (see the module doc)."""
    url = urlparse(endpoint.host)
    if url.scheme == "unix":
        _point_named_cache_at(named_caches_dir, os.path.basename(ENGINE_SANDBOX_SOCKET), url.path)
        return FrozenDict({"KOLLA_ENGINE_SOCKET": ENGINE_SANDBOX_SOCKET})
    env = {"DOCKER_HOST": endpoint.host}
    if endpoint.tls:
        # One folder per host, so that runs against different engines do not swap each other's files;
        # named after what is in the env anyway (the host), so it adds nothing to the key.
        folder = "tls-" + hashlib.sha256(endpoint.host.encode()).hexdigest()[:16]
        for name, path in zip(CERT_FILES, (endpoint.ca_cert, endpoint.client_cert, endpoint.client_key)):
            if path:
                _point_named_cache_at(named_caches_dir, f"{folder}/{name}", os.path.abspath(path))
        env["DOCKER_CERT_PATH"] = f"{ENGINE_SANDBOX_DIR}/{folder}"
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
    # The user named the engine (`DOCKER_HOST`, `DOCKER_CONTEXT`, a current docker context).
    chosen: bool = False


@rule(desc="Find the Docker engine")
async def probe_engine(global_options: GlobalOptions) -> EngineProbe:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(engine_client.ENV_VARS))
    try:
        docker_host = engine_client.resolve(env)
        # The version enters every build's cache key: another engine may build differently.
        version = engine_client.ping(docker_host)
    except engine_client.EngineConfigError as e:
        return EngineProbe(endpoint=None, failure=str(e), misconfigured=True)
    except engine_client.EngineApiError as e:
        chosen = bool(env.get("DOCKER_HOST") or engine_client.as_endpoint(e.endpoint).context)
        return EngineProbe(endpoint=None, failure=how_to_start_engine(e.endpoint, e.reason), chosen=chosen)
    endpoint = EngineEndpoint(
        docker_host=docker_host,
        env=builder_env(docker_host, str(global_options.named_caches_dir)),
        append_only_caches=FrozenDict({ENGINE_NAMED_CACHE: ENGINE_SANDBOX_DIR}),
        version=version,
    )
    return EngineProbe(endpoint=endpoint)


@rule(desc="Check that the Docker engine answers", level=LogLevel.DEBUG)
async def engine_endpoint(remote: RemoteExecution) -> EngineEndpoint:
    if remote.remote:
        remote.raise_failure()
        return worker_engine(await Get(WorkerTools))
    probe = await Get(EngineProbe)
    probe.raise_failure()
    assert probe.endpoint is not None  # no failure
    return probe.endpoint


def rules():
    return collect_rules()
