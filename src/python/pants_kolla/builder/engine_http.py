"""The few Docker Engine API calls a build makes, on the standard library's HTTP client.

Every build process talks to the engine, and importing the docker SDK (requests, urllib3) costs each one
~0.1 s before its first call: a tenth of a one-step rebuild. The endpoint comes from the environment as
the SDK's `docker.from_env` reads it: `DOCKER_HOST` (`unix://` or `tcp://`), `DOCKER_TLS_VERIFY` and
`DOCKER_CERT_PATH` (`ca.pem`, `cert.pem`, `key.pem`). Requests carry no API version prefix, so the engine
answers in its own current version.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import tarfile
import tempfile
from typing import IO, Iterable, Iterator
from urllib.parse import quote, urlencode, urlparse

DEFAULT_HOST = "unix:///var/run/docker.sock"
_CHUNK = 1 << 20


class EngineError(Exception):
    """The engine answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ImageNotFound(EngineError):
    pass


class EngineUnreachable(Exception):
    """The endpoint is malformed or its TLS files are missing."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as e:  # no socket file, or no engine behind it: the engine is gone either way
            sock.close()
            raise ConnectionError(f"cannot connect to {self.socket_path}: {e.strerror or e}") from e
        self.sock = sock


def _tls_context(cert_path: str, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=os.path.join(cert_path, "ca.pem") if verify else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        context.load_cert_chain(cert, key)
    return context


class EngineClient:
    def __init__(self, host: str, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.timeout = timeout
        self.tls = tls
        self._info: dict | None = None

    @classmethod
    def from_env(cls, timeout: float) -> "EngineClient":
        host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        verify = bool(os.environ.get("DOCKER_TLS_VERIFY"))
        cert_path = os.environ.get("DOCKER_CERT_PATH") or ""
        tls = None
        if (verify or cert_path) and not host.startswith("unix://"):
            try:
                tls = _tls_context(cert_path or os.path.expanduser("~/.docker"), verify)
            except (OSError, ssl.SSLError) as e:
                raise EngineUnreachable(f"the TLS files of {host}: {e}") from e
        return cls(host, timeout, tls)

    def _connection(self) -> http.client.HTTPConnection:
        url = urlparse(self.host)
        if url.scheme == "unix":
            return _UnixConnection(url.path, self.timeout)
        if url.scheme not in ("tcp", "http", "https") or not url.hostname:
            raise EngineUnreachable(f"not an engine endpoint: {self.host}")
        port = url.port or (2376 if self.tls else 2375)
        if self.tls is not None or url.scheme == "https":
            return http.client.HTTPSConnection(
                url.hostname, port, timeout=self.timeout, context=self.tls or ssl.create_default_context()
            )
        return http.client.HTTPConnection(url.hostname, port, timeout=self.timeout)

    def _request(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: Iterable[bytes] | IO[bytes] | None = None,
        content_type: str = "",
        stream: bool = False,
    ) -> http.client.HTTPResponse:
        """With `stream`, no read timeout once connected: a build's RUN step may print nothing for longer
        than any timeout, and a load may take as long to answer; the engine's death still ends the read."""
        query = "?" + urlencode(params) if params else ""
        conn = self._connection()
        conn.connect()
        if stream and conn.sock is not None:
            conn.sock.settimeout(None)
        headers = {"Content-Type": content_type} if content_type else {}
        if body is not None:
            headers["Transfer-Encoding"] = "chunked"
        conn.request(method, path + query, body=body, headers=headers, encode_chunked=body is not None)
        response = conn.getresponse()
        if response.status >= 400:
            raw = response.read().decode(errors="replace")
            conn.close()
            try:
                message = json.loads(raw).get("message", raw)
            except ValueError:
                message = raw
            error = ImageNotFound if response.status == 404 else EngineError
            raise error(response.status, message.strip())
        return response

    def _json(self, method: str, path: str, params: dict | None = None, payload: dict | None = None) -> dict:
        body = None if payload is None else [json.dumps(payload).encode()]
        with self._request(method, path, params, body, "application/json" if body else "") as response:
            return json.loads(response.read() or b"null")

    def ping(self) -> None:
        with self._request("GET", "/_ping") as response:
            response.read()

    def version(self) -> dict:
        return self._json("GET", "/version")

    def info(self) -> dict:
        """Asked once per client: an image build reads it twice (6-10 ms a call), for the storage driver
        and root, which stay as they are while the engine runs."""
        if self._info is None:
            self._info = self._json("GET", "/info")
        return self._info

    def inspect_image(self, name: str) -> dict:
        return self._json("GET", f"/images/{quote(name, safe='')}/json")

    def tag(self, image: str, repository: str, tag: str) -> None:
        params = {"repo": repository, "tag": tag, "force": "1"}
        with self._request("POST", f"/images/{quote(image, safe='')}/tag", params) as response:
            response.read()

    def remove_image(self, image: str) -> None:
        """Remove one image, never its parents (they may be untagged and still needed)."""
        params = {"force": "0", "noprune": "1"}
        with self._request("DELETE", f"/images/{quote(image, safe='')}", params) as response:
            response.read()

    def load_image(self, tar: Iterable[bytes]) -> Iterator[dict]:
        """`docker load` of a tar sent as it is made; the engine's progress messages."""
        response = self._request(
            "POST", "/images/load", {"quiet": "1"}, tar, "application/x-tar", stream=True
        )
        return _json_stream(response)

    def build(self, context: str, params: dict) -> Iterator[dict]:
        """A classic build of the folder `context`; the engine's progress messages as they come."""
        with tempfile.TemporaryFile() as tar:
            _write_context(context, tar)
            tar.seek(0)
            body = iter(lambda: tar.read(_CHUNK), b"")
            response = self._request("POST", "/build", params, body, "application/x-tar", stream=True)
        return _json_stream(response)

    def get_image(self, name: str) -> Iterator[bytes]:
        """`docker save` of one image, as a stream of tar bytes."""
        response = self._request("GET", f"/images/{quote(name, safe='')}/get", stream=True)
        with response:
            yield from iter(lambda: response.read(_CHUNK), b"")

    def run_container(self, image: str, command: list[str], network_mode: str) -> tuple[int, bytes, bytes]:
        """`docker run --rm` in the foreground: the command's exit status, its stdout and its stderr."""
        config = {"Image": image, "Cmd": command, "HostConfig": {"NetworkMode": network_mode}}
        container = "/containers/" + quote(self._json("POST", "/containers/create", payload=config)["Id"])
        try:
            self._json("POST", f"{container}/start")
            with self._request("POST", f"{container}/wait", stream=True) as response:
                status = json.loads(response.read())["StatusCode"]
            logs = {"stdout": "1", "stderr": "1"}
            with self._request("GET", f"{container}/logs", logs, stream=True) as response:
                stdout, stderr = _demultiplex(response.read())
        finally:
            self._json("DELETE", container, {"force": "1"})
        return status, stdout, stderr


def _demultiplex(raw: bytes) -> tuple[bytes, bytes]:
    """The logs of a container without a TTY: frames of an 8-byte header (stream 1 or 2, then the
    big-endian length) and that many bytes."""
    streams: dict[int, list[bytes]] = {1: [], 2: []}
    offset = 0
    while offset + 8 <= len(raw):
        kind, size = raw[offset], int.from_bytes(raw[offset + 4 : offset + 8], "big")
        streams.setdefault(kind, []).append(raw[offset + 8 : offset + 8 + size])
        offset += 8 + size
    return b"".join(streams[1]), b"".join(streams[2])


def _write_context(context: str, out: IO[bytes]) -> None:
    """The build context as the docker SDK sends it: every file under `context`, in name order."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        for folder, dirs, files in os.walk(context):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(folder, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, context))
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)


def _json_stream(response: http.client.HTTPResponse) -> Iterator[dict]:
    """The JSON messages of a streamed answer (one object per line, split anywhere by chunking)."""
    decoder = json.JSONDecoder()
    buffer = ""
    with response:
        for line in iter(response.readline, b""):
            buffer += line.decode(errors="replace")
            while buffer.strip():
                try:
                    message, end = decoder.raw_decode(buffer.lstrip())
                except ValueError:
                    break  # an object cut by a chunk boundary: wait for the rest
                yield message
                buffer = buffer.lstrip()[end:]
