"""A few Docker Engine API calls, made in-process with the standard library.

Rules use these for the cheap per-session questions ("does the engine hold image X under name Y?"), so a
no-op `package` runs no process at all; anything that moves image bytes (load, build, push) stays in the
builder process.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import quote, urlencode, urlparse


class EngineApiError(Exception):
    pass


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("docker", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


def _connection(docker_host: str, timeout: float) -> http.client.HTTPConnection:
    url = urlparse(docker_host)
    if url.scheme == "unix":
        return _UnixHTTPConnection(url.path, timeout)
    if url.scheme in ("tcp", "http"):
        return http.client.HTTPConnection(url.hostname or "localhost", url.port or 2375, timeout=timeout)
    raise EngineApiError(f"Unsupported DOCKER_HOST scheme: {docker_host}")


def _request(docker_host: str, method: str, path: str, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    conn = _connection(docker_host, timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    except OSError as e:
        raise EngineApiError(f"Docker engine at {docker_host}: {e}") from e
    finally:
        conn.close()


def call(docker_host: str, method: str, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    status, body, _ = _request(docker_host, method, path, timeout)
    return status, body


def ping(docker_host: str, timeout: float = 3.0) -> str | None:
    """The engine's version if it answers, else None. One `/_ping` (under a millisecond) whose `Server`
    header names the version; `/version` would also ask containerd and runc theirs (~8 ms per run)."""
    try:
        status, _, headers = _request(docker_host, "GET", "/_ping", timeout)
    except EngineApiError:
        return None
    if status != 200:
        return None
    server = re.match(r"Docker/(\S+)", headers.get("Server", ""))
    return server.group(1) if server else version(docker_host)


def version(docker_host: str) -> str:
    """The engine's version from `/version`."""
    try:
        status, body = call(docker_host, "GET", "/version")
        return str(json.loads(body)["Version"]) if status == 200 else "unknown"
    except (EngineApiError, ValueError, KeyError):
        return "unknown"


def image_id(docker_host: str, name: str) -> str | None:
    """The ID of the image `name` (a ref or an ID) in the engine, None if it has none."""
    status, body = call(docker_host, "GET", f"/images/{quote(name, safe='')}/json")
    if status == 404:
        return None
    if status != 200:
        raise EngineApiError(f"inspecting {name}: HTTP {status} {body[:200]!r}")
    return str(json.loads(body)["Id"])


def tag(docker_host: str, image: str, ref: str) -> None:
    repository, _, tag_name = ref.rpartition(":")
    query = urlencode({"repo": repository, "tag": tag_name})
    status, body = call(docker_host, "POST", f"/images/{quote(image, safe='')}/tag?{query}")
    if status not in (200, 201):
        raise EngineApiError(f"tagging {image} as {ref}: HTTP {status} {body[:200]!r}")


@contextmanager
def image_events(docker_host: str, since: float) -> Iterator[Iterator[dict]]:
    """The engine's image events from `since` (a Unix time) on, as a blocking stream (closed when the
    block ends). The engine answers the request before it subscribes to its event bus, so an event in
    between would reach no one; with `since`, it first replays the events it logged since then."""
    conn = _connection(docker_host, timeout=None)
    try:
        query = {"filters": json.dumps({"type": ["image"]}), "since": f"{since:.9f}"}
        conn.request("GET", "/events?" + urlencode(query))
        response = conn.getresponse()
        if response.status != 200:
            raise EngineApiError(f"events: HTTP {response.status}")
        yield (json.loads(line) for line in iter(response.readline, b"") if line.strip())
    except OSError as e:
        raise EngineApiError(f"Docker engine at {docker_host}: {e}") from e
    finally:
        conn.close()
