"""Cross-repository mounts of the layers an image shares with its parent, before skopeo pushes it.

skopeo mounts a blob from another repository only when its own blob-info cache saw it there, and it
records no location for a blob it found already present: a fresh CI runner whose parent image was pushed
by another job (or found present) uploads the parent's layers again into each child's repository. The
plan names each image's parent repository, so the shared layers are mounted from there first (`POST
/v2/<repository>/blobs/uploads/?mount=<digest>&from=<parent>`, one request per layer, no bytes sent);
skopeo then finds them present. A layer the parent's repository lacks (the parent was never published
there) is left to skopeo, as is everything when the registry refuses: mounting only saves bandwidth.

Credentials are read as skopeo reads them (its auth file, then Docker's config and credential helpers)
and go only into the requests' headers.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
from functools import lru_cache
from typing import Optional
from urllib.parse import urlencode

CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT_S = 30


def auth_files() -> list[str]:
    """Where skopeo looks for logins, in its order: `REGISTRY_AUTH_FILE`, the containers auth file, then
    Docker's config (`DOCKER_CONFIG` or ~/.docker)."""
    files = [os.environ.get("REGISTRY_AUTH_FILE", "")]
    if os.environ.get("XDG_RUNTIME_DIR"):
        files.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "containers", "auth.json"))
    docker_config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    files.append(os.path.join(docker_config, "config.json"))
    return [f for f in files if f and os.path.isfile(f)]


def login_in(config: dict, registry: str) -> Optional[tuple[str, str]]:
    """A (user, secret) for `registry` from one auth file: its `auths` entry, else its credential helper
    (`credHelpers`, then `credsStore`)."""
    for key, entry in (config.get("auths") or {}).items():
        host = re.sub(r"^https?://", "", key).split("/", 1)[0]
        if host == registry and entry.get("auth"):
            user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, secret
    helper = (config.get("credHelpers") or {}).get(registry) or config.get("credsStore")
    if not helper:
        return None
    answer = subprocess.run(
        [f"docker-credential-{helper}", "get"], input=registry, capture_output=True, text=True
    )
    if answer.returncode != 0:
        return None
    found = json.loads(answer.stdout)
    return found["Username"], found["Secret"]


@lru_cache(maxsize=None)  # one lookup (and helper run) per registry and publish, not per image
def find_login(registry: str) -> Optional[tuple[str, str]]:
    for path in auth_files():
        try:
            with open(path) as f:
                login = login_in(json.load(f), registry)
        except (OSError, ValueError, KeyError):
            continue
        if login:
            return login
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {realm, service, scope})."""
    scheme, _, params = header.strip().partition(" ")
    return scheme.lower(), dict(CHALLENGE_PARAM.findall(params))


def token_query(challenge: dict[str, str], scopes: list[str]) -> str:
    """The token endpoint's URL for pushing into one repository while reading another."""
    query = [("service", challenge["service"])] if challenge.get("service") else []
    query += [("scope", scope) for scope in scopes]
    return f"{challenge['realm']}?{urlencode(query)}"


class RegistrySession:
    """Requests to one registry, answering its auth challenge (Basic, or a Bearer token for the scopes)
    once and reusing the header."""

    def __init__(self, registry: str, plain_http: bool) -> None:
        self.registry = registry
        self.plain_http = plain_http
        self.login = find_login(registry)
        self.authorization = ""

    @staticmethod
    def _exchange(
        host: str, https: bool, method: str, path: str, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One request on a connection of its own: the response and its body, read to the end."""
        connection_type = http.client.HTTPSConnection if https else http.client.HTTPConnection
        conn = connection_type(host, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def _send(self, method: str, path: str) -> http.client.HTTPResponse:
        headers = {"Content-Length": "0"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return self._exchange(self.registry, not self.plain_http, method, path, headers)[0]

    def request(self, method: str, path: str, scopes: list[str]) -> http.client.HTTPResponse:
        response = self._send(method, path)
        if response.status == 401 and self._authorize(response.getheader("WWW-Authenticate", ""), scopes):
            response = self._send(method, path)
        return response

    def _basic(self) -> str:
        if not self.login:
            return ""
        return "Basic " + base64.b64encode(":".join(self.login).encode()).decode()

    def _authorize(self, header: str, scopes: list[str]) -> bool:
        scheme, challenge = parse_challenge(header)
        if scheme == "basic":
            self.authorization = self._basic()
        elif scheme == "bearer" and challenge.get("realm"):
            self.authorization = self._bearer(token_query(challenge, scopes))
        return bool(self.authorization)

    def _bearer(self, url: str) -> str:
        https, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        headers = {"Authorization": self._basic()} if self.login else {}
        response, body = self._exchange(host, https == "https", "GET", "/" + path, headers)
        if response.status != 200:
            return ""
        answer = json.loads(body)
        token = answer.get("token") or answer.get("access_token")
        return f"Bearer {token}" if token else ""


def mount_from_parent(image: dict, parent_layers: list[str], plain_http: bool) -> set[str]:
    """Mount each layer of the image that its parent has, from the parent's repository; the digests
    mounted. Stops at the first refusal or error: skopeo then pushes as it would have."""
    registry, name = image["repository"].split("/", 1)
    source = image["parent"]["repository"].split("/", 1)[1]
    session = RegistrySession(registry, plain_http)
    scopes = [f"repository:{name}:pull,push", f"repository:{source}:pull"]
    mounted: set[str] = set()
    for digest in parent_layers:
        query = urlencode({"mount": digest, "from": source})
        try:
            response = session.request("POST", f"/v2/{name}/blobs/uploads/?{query}", scopes)
            if response.status == 202:
                # The registry started an upload instead (the parent's repository lacks the blob):
                # cancel it, and leave this and later layers to skopeo.
                location = response.getheader("Location", "")
                if location:
                    session.request("DELETE", re.sub(r"^https?://[^/]+", "", location), scopes)
                return mounted
        except (OSError, http.client.HTTPException, ValueError):
            return mounted
        if response.status != 201:
            return mounted
        mounted.add(digest)
    return mounted
