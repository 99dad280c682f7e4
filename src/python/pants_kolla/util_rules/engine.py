"""The Docker engine endpoint handed to builder processes, kept out of their cache keys.

A process's env is part of its cache key, so `DOCKER_HOST=unix:///home/me/...` would make every
checkout and machine miss the (remote) cache. Unix sockets are instead exposed through a named cache
(`.kolla_engine/docker.sock` inside every sandbox, a symlink to the real socket), whose host path never
enters the key.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, _uncacheable_rule, collect_rules
from pants.option.global_options import GlobalOptions
from pants.util.frozendict import FrozenDict

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


def how_to_start_engine(docker_host: str) -> str:
    return (
        f"No Docker engine answers at {docker_host}. Start one, then re-run:\n"
        f"  sudo systemctl start docker            # the system engine (apt-get install -y docker.io)\n"
        f"  or a private one for this repo:\n"
        f"  .ci/dockerd.sh start && export DOCKER_HOST=unix:///var/tmp/kolla-dockerd/docker.sock"
    )


def probe(docker_host: str, timeout: float = 3.0) -> bool:
    url = urlparse(docker_host)
    try:
        if url.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(url.path)
        else:
            with socket.create_connection((url.hostname, url.port or 2375), timeout=timeout):
                pass
        return True
    except OSError:
        return False


def _point_named_cache_at(named_caches_dir: str, socket_path: str) -> None:
    link_dir = os.path.join(named_caches_dir, NAMED_CACHE)
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "docker.sock")
    if os.path.islink(link) and os.readlink(link) == socket_path:
        return
    tmp = f"{link}.{os.getpid()}"
    os.symlink(socket_path, tmp)
    os.replace(tmp, link)


# Uncacheable: the engine may have stopped since the last run; probing costs well under a millisecond.
@_uncacheable_rule(desc="Find the Docker engine")
async def engine_endpoint(global_options: GlobalOptions) -> EngineEndpoint:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["DOCKER_HOST"]))
    docker_host = env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    if not probe(docker_host):
        raise EngineUnreachable(how_to_start_engine(docker_host))
    url = urlparse(docker_host)
    if url.scheme == "unix":
        _point_named_cache_at(str(global_options.named_caches_dir), url.path)
        return EngineEndpoint(
            docker_host,
            FrozenDict({"KOLLA_ENGINE_SOCKET": SANDBOX_SOCKET}),
            FrozenDict({NAMED_CACHE: os.path.dirname(SANDBOX_SOCKET)}),
        )
    return EngineEndpoint(docker_host, FrozenDict({"DOCKER_HOST": docker_host}), FrozenDict())


def rules():
    return collect_rules()
