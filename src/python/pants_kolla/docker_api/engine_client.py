"""The Docker engine's API, reached in-process the way the docker CLI reaches it, through the docker SDK.

Rules use these for the cheap per-session questions ("does the engine hold image X under name Y?"), so a
no-op `package` runs no process at all; anything that moves image bytes (load, build, push) stays in the
builder process.

Where the engine is comes from the environment as the docker CLI reads it: `DOCKER_HOST` (with
`DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`, read as the SDK's `from_env` reads them, which is also how
the builder process reads what it is handed), else the docker context named by `DOCKER_CONTEXT` or by
`currentContext` in the docker config (the SDK's `ContextAPI`), else the default socket. `ssh://` is
refused: the SDK would need paramiko (not a dependency) or shell out to `ssh` once per connection, with
the user's agent and keys, from inside a Pants sandbox; not supported here.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping
from urllib.parse import urlparse

DEFAULT_HOST = "unix:///var/run/docker.sock"
# What `resolve` reads from the environment (the client's, not pantsd's).
ENV_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")
SUPPORTED_SCHEMES = ("unix", "tcp", "http", "https")
# Generous: on a loaded machine the engine may take seconds to answer; a refused connection or a missing
# socket fails at once anyway.
TIMEOUT_SECONDS = 60


class EngineApiError(Exception):
    def __init__(self, message: str, endpoint: Endpoint | str = "", reason: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint  # where it happened, and what went wrong there (for the user)
        self.reason = reason or message


class EngineConfigError(EngineApiError):
    """The endpoint is set up wrong (a TLS handshake fails, a context or certificate is missing, an
    unsupported scheme): an engine may well run there, so this is no reason to fall back to buildah."""


@dataclass(frozen=True)
class Endpoint:
    """Where the engine listens and how to reach it: the docker CLI's `DOCKER_HOST` plus TLS material."""

    host: str  # unix:///..., tcp://host:port
    ca_cert: str = ""  # files; "" when not used
    client_cert: str = ""
    client_key: str = ""
    tls_verify: bool = False  # check the engine's certificate against ca_cert
    context: str = ""  # the docker context it comes from; "" for DOCKER_HOST or the default

    @property
    def tls(self) -> bool:
        return bool(self.ca_cert or self.client_cert)

    def __str__(self) -> str:
        where = self.host
        if self.tls:
            where += " (TLS" + (", verified" if self.tls_verify else ", not verified") + ")"
        if self.context:
            where += f" (docker context `{self.context}`)"
        return where


def as_endpoint(endpoint: Endpoint | str) -> Endpoint:
    """A plain host URL (tests, a remote worker's engine) is an endpoint without TLS."""
    return endpoint if isinstance(endpoint, Endpoint) else Endpoint(host=endpoint)


def resolve(env: Mapping[str, str]) -> Endpoint:
    """The endpoint the docker CLI would use with `env` (DOCKER_HOST wins over any context, as in the
    CLI). Raises EngineConfigError for what the CLI would refuse or this plugin does not support."""
    import docker.errors
    import docker.utils
    from docker.context import ContextAPI

    if env.get("DOCKER_HOST"):
        return _checked(_from_env(env))
    name = env.get("DOCKER_CONTEXT") or ""
    try:
        # No name: config.json's currentContext (found through DOCKER_CONFIG/HOME of this process).
        context = ContextAPI.get_context(name or None)
    except docker.errors.DockerException as e:
        raise EngineConfigError(f"Reading docker context `{name or 'current'}` failed: {e}") from e
    if context is None:
        named_by = (
            f"DOCKER_CONTEXT names the docker context `{name}`"
            if name
            else ("The current docker context (`currentContext` in the docker config) does not exist")
        )
        raise EngineConfigError(
            f"{named_by}{', which does not exist' if name else ''} (`docker context ls`)."
        )
    if context.Name == "default":
        return _checked(_from_env({k: v for k, v in env.items() if k != "DOCKER_CONTEXT"}))
    tls = context.TLSConfig
    if tls is None:
        return _checked(Endpoint(host=context.Host or DEFAULT_HOST, context=context.Name))
    cert, key = tls.cert or ("", "")
    return _checked(
        Endpoint(
            host=context.Host,
            ca_cert=tls.ca_cert or "",
            client_cert=cert,
            client_key=key,
            tls_verify=bool(tls.verify),
            context=context.Name,
        )
    )


def _from_env(env: Mapping[str, str]) -> Endpoint:
    import docker.errors
    import docker.utils

    try:
        # The SDK's own reading of DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH: the builder's
        # `docker.from_env()` reads its copies of them the same way.
        # Never an empty mapping: the SDK would read this process's own environment instead.
        params = docker.utils.kwargs_from_env(environment={"DOCKER_HOST": "", **env})
    except docker.errors.TLSParameterError as e:
        cert_path = env.get("DOCKER_CERT_PATH") or "~/.docker"
        raise EngineConfigError(
            f"TLS to the Docker engine at {env.get('DOCKER_HOST') or DEFAULT_HOST} needs ca.pem, cert.pem "
            f"and key.pem in {cert_path} (DOCKER_CERT_PATH)."
        ) from e
    host = params.get("base_url") or DEFAULT_HOST
    tls = params.get("tls")
    if not tls:
        return Endpoint(host=host)
    cert, key = tls.cert or ("", "")
    return Endpoint(
        host=host, ca_cert=tls.ca_cert or "", client_cert=cert, client_key=key, tls_verify=bool(tls.verify)
    )


def _checked(endpoint: Endpoint) -> Endpoint:
    scheme = urlparse(endpoint.host).scheme
    if scheme == "ssh":
        raise EngineConfigError(
            f"The Docker engine at {endpoint} is reached over ssh://, which pants-kolla does not support "
            "(the docker SDK needs paramiko or the ssh CLI with your keys inside Pants' sandboxes). Forward "
            "the engine's socket instead: `ssh -NL /tmp/remote-docker.sock:/var/run/docker.sock HOST` and "
            "`export DOCKER_HOST=unix:///tmp/remote-docker.sock`."
        )
    if scheme not in SUPPORTED_SCHEMES:
        raise EngineConfigError(
            f"The Docker engine at {endpoint}: unsupported scheme `{scheme}://` (use unix:// or tcp://)."
        )
    return endpoint


def _tls_config(endpoint: Endpoint):
    from docker.tls import TLSConfig

    if not endpoint.tls:
        return False
    client_cert = (endpoint.client_cert, endpoint.client_key) if endpoint.client_cert else None
    return TLSConfig(client_cert=client_cert, ca_cert=endpoint.ca_cert or None, verify=endpoint.tls_verify)


def _new_client(endpoint: Endpoint, timeout: float | None):
    import docker

    try:
        # API version "auto": one /version now, then whatever this engine speaks.
        return docker.APIClient(
            base_url=endpoint.host, tls=_tls_config(endpoint), timeout=timeout, version="auto"
        )
    except docker.errors.DockerException as e:
        raise _error(endpoint, e) from e


_CLIENTS: dict[Endpoint, object] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(endpoint: Endpoint):
    """One client per endpoint for the life of the process (pantsd), so connections are reused; a client
    that could not be made (engine down) is not kept, and is tried again next time."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(endpoint)
    if client is None:
        client = _new_client(endpoint, TIMEOUT_SECONDS)
        with _CLIENTS_LOCK:
            client = _CLIENTS.setdefault(endpoint, client)
    return client


def _root_cause(error: BaseException) -> BaseException:
    """The innermost error (requests wraps urllib3's, which wraps ssl's or the socket's), whose message
    says what went wrong in one line."""
    seen = {id(error)}
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        inner = inner or error.__cause__ or error.__context__
        if inner is None or id(inner) in seen:
            return error
        seen.add(id(inner))
        error = inner


def _error(endpoint: Endpoint, error: Exception) -> EngineApiError:
    import ssl

    import docker.errors

    cause = _root_cause(error)
    message = f"Docker engine at {endpoint}: {cause}"
    if isinstance(cause, (ssl.SSLError, docker.errors.TLSParameterError)):
        return EngineConfigError(f"TLS to the {message}", endpoint, str(cause))
    return EngineApiError(message, endpoint, str(cause))


@contextmanager
def _engine_errors(endpoint: Endpoint) -> Iterator[None]:
    import docker.errors
    import requests.exceptions  # pants: no-infer-dep (requests comes with the docker SDK)

    try:
        yield
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as e:
        raise _error(endpoint, e) from e


def ping(endpoint: Endpoint | str) -> str:
    """The engine's version; raises EngineApiError when it does not answer. One `/_ping`, whose `Server`
    header names the version (`/version` would also ask containerd and runc theirs, ~8 ms per run)."""
    endpoint = as_endpoint(endpoint)
    with _engine_errors(endpoint):
        client = _client(endpoint)
        # The SDK's ping() drops the headers; its client is a requests Session on the engine's base URL.
        response = client.get(f"{client.base_url}/_ping", timeout=client.timeout)
        response.raise_for_status()
        server = response.headers.get("Server", "")
        if server.startswith("Docker/"):
            return server.split("/", 1)[1].split()[0]
        return str(client.version(api_version=False).get("Version", "unknown"))


def _inspect(endpoint: Endpoint | str, name: str) -> dict | None:
    import docker.errors

    endpoint = as_endpoint(endpoint)
    with _engine_errors(endpoint):
        try:
            return dict(_client(endpoint).inspect_image(name))
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as e:
            raise EngineApiError(f"inspecting {name}: {e}") from e


def image_id(endpoint: Endpoint | str, name: str) -> str | None:
    """The ID of the image `name` (a ref or an ID) in the engine, None if it has none."""
    image = _inspect(endpoint, name)
    return str(image["Id"]) if image else None


def image_tags(endpoint: Endpoint | str, name: str) -> list[str] | None:
    """The names the image `name` holds in the engine, None if the engine has no such image."""
    image = _inspect(endpoint, name)
    return [str(tag) for tag in image.get("RepoTags") or ()] if image else None


def tag(endpoint: Endpoint | str, image: str, ref: str) -> None:
    import docker.errors

    endpoint = as_endpoint(endpoint)
    repository, _, tag_name = ref.rpartition(":")
    with _engine_errors(endpoint):
        try:
            _client(endpoint).tag(image, repository, tag_name)
        except docker.errors.APIError as e:
            raise EngineApiError(f"tagging {image} as {ref}: {e}") from e


def remove_unused_images(endpoint: Endpoint | str, image_ids: list[str]) -> None:
    """Remove each image without pruning what it stands on; one still in use (a child, a container, a
    name) is kept by the engine, which is what a cache of step images wants."""
    import docker.errors

    endpoint = as_endpoint(endpoint)
    with _engine_errors(endpoint):
        for image in image_ids:
            try:
                _client(endpoint).remove_image(image, force=False, noprune=True)
            except docker.errors.APIError:
                pass  # gone already, or in use


@contextmanager
def image_events(endpoint: Endpoint | str, since: float) -> Iterator[Iterator[dict]]:
    """The engine's image events from `since` (a Unix time) on, as a blocking stream (closed when the
    block ends). The engine answers the request before it subscribes to its event bus, so an event in
    between would reach no one; with `since`, it first replays the events it logged since then.
    A client of its own: the stream holds its connection for as long as it is watched."""
    endpoint = as_endpoint(endpoint)
    with _engine_errors(endpoint):
        client = _new_client(endpoint, None)
        try:
            stream = client.events(since=f"{since:.9f}", filters={"type": ["image"]}, decode=True)
            try:
                yield stream
            finally:
                stream.close()
        finally:
            client.close()
