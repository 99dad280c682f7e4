"""Publishing: push an image the engine holds (by ID) to a registry, retrying while it is unreachable."""

from __future__ import annotations

import argparse
import re
import sys
import time

from pants_kolla.builder import engine_build, exit_codes

# Errors meaning "the registry did not answer" (worth retrying), as the engine words them.
REGISTRY_UNREACHABLE = re.compile(
    r"(connection refused|no such host|i/o timeout|connection reset|"
    r"dial tcp|EOF|TLS handshake timeout|503 Service Unavailable)",
    re.I,
)
LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


class PushFailed(Exception):
    pass


def check_insecure(client, registry: str, insecure: bool) -> None:
    """Plain HTTP is a daemon setting: fail early, with the fix, rather than with a TLS error."""
    if not insecure or LOOPBACK.match(registry):
        return
    import ipaddress

    config = client.info().get("RegistryConfig") or {}
    if not ((config.get("IndexConfigs") or {}).get(registry) or {}).get("Secure", True):
        return
    host = registry.rsplit(":", 1)[0].strip("[]")
    try:
        address = ipaddress.ip_address(host)
        if any(address in ipaddress.ip_network(c) for c in config.get("InsecureRegistryCIDRs") or ()):
            return
    except ValueError:
        pass  # a host name: only IndexConfigs can list it
    print(
        f"`{registry}` is in [kolla].insecure_registries, but the Docker engine does not treat it as "
        f"insecure. Add it to `insecure-registries` in the engine's daemon.json and restart it.",
        file=sys.stderr,
    )
    sys.exit(exit_codes.PUSH_FAILED)


def push_once(client, ref: str) -> dict:
    """One `docker push`; returns the manifest digest and what happened to each layer (the engine says
    `Layer already exists` or `Mounted from ...` for blobs the registry has: nothing is uploaded)."""
    repository, _, tag = ref.rpartition(":")
    layers: dict[str, str] = {}
    digest = None
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise PushFailed(chunk["error"].strip())
        status = chunk.get("status", "")
        if chunk.get("id") and (status in ("Pushed", "Layer already exists") or status.startswith("Mounted")):
            layers[chunk["id"]] = status
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    return {"digest": digest, "layers": layers}


def push_with_retries(client, ref: str, retries: int) -> dict:
    import docker.errors
    import requests.exceptions  # pants: no-infer-dep (the docker SDK requires it)

    for attempt in range(1, retries + 2):
        try:
            return push_once(client, ref)
        except (PushFailed, docker.errors.APIError, requests.exceptions.ConnectionError) as e:
            if not REGISTRY_UNREACHABLE.search(str(e)):
                raise PushFailed(str(e)) from None
            if attempt > retries:
                raise PushFailed(f"the registry did not answer after {attempt} attempts (last error: {e})")
            delay = 2 ** (attempt - 1)
            print(
                f"push of {ref}: registry unreachable ({e}); retry {attempt} of {retries} in {delay} s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def cmd_push(args: argparse.Namespace) -> int:
    client = engine_build.connect()
    check_insecure(client, args.registry, args.insecure)
    if engine_build.engine_has(client, args.image_id) is None:
        print(f"The engine does not hold {args.image_id}: run `pants package` first.", file=sys.stderr)
        return exit_codes.PUSH_FAILED
    for ref in args.dest:
        repository, _, tag = ref.rpartition(":")
        client.api.tag(args.image_id, repository, tag)  # by ID: what we built, whatever names say now
        try:
            result = push_with_retries(client, ref, args.retries)
        except PushFailed as e:
            print(
                f"Pushing {ref} failed: {e}\n(credentials come from Docker's config: "
                f"`docker login {args.registry}`, or set DOCKER_CONFIG)",
                file=sys.stderr,
            )
            return exit_codes.PUSH_FAILED
        statuses = list(result["layers"].values())
        uploaded = statuses.count("Pushed")
        print(
            f"pushed {ref}@{result['digest']} image {args.image_id}: {uploaded} layer(s) uploaded, "
            f"{len(statuses) - uploaded} already in the registry",
            flush=True,
        )
    return 0
